"""Ingest of the real GLERL files (bundled copies): facts about the files, asserted.

The expected numbers come from the files themselves (counted here with the csv module,
independently of spectm) and from docs/glerl.md (computed from the same files).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from spectm.catalogs import load_stations
from spectm.samples import bundled_files, ingest_samples, load_samples
from spectm.samples.schemas import VARIABLES

A_1218 = "lake_erie_habs_field_sampling_results_2012_2018.csv"
A_19 = "lake_erie_habs_field_sampling_results_2019.csv"
B_2021 = "noaa-glerl-erie-habs-field-sampling-results-2020-2021.csv"
B_22 = "noaa-glerl-erie-habs-field-sampling-results-2022.csv"
T_21 = "noaa-glerl-erie-habs-field-sampling-transects-results-2021.csv"
T_22 = "noaa-glerl-erie-habs-field-sampling-transects-results-2022.csv"
C_24 = "2024_WLE_Weekly_Datashare_CSV.csv"
C_25 = "2025_WLE_Weekly_Datashare_CSV.csv"
PMC_HEADER = {
    A_1218: "Particulate Microcystin (µg/L)",
    A_19: "Particulate Microcystin (µg/L)",
    B_2021: "particulate_microcystin",
    B_22: "particulate_microcystin",
    T_21: "particulate_microcystin",
    T_22: "particulate_microcystin",
    C_24: "Particulate_Microcystin_ugL-1",
    C_25: "Particulate_Microcystin_ugL-1",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return ingest_samples(data_dir=tmp_path_factory.mktemp("glerl"))


@pytest.fixture(scope="module")
def samples(result) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    df = pd.DataFrame(result.samples)
    df["year"] = df["date"].str[:4].astype(int)
    return df


def raw_rows(name: str) -> list[dict[str, str]]:
    path = next(p for p in bundled_files() if p.name == name)
    enc = "latin-1" if name.startswith("lake_erie") else "utf-8"
    with path.open(encoding=enc, newline="") as fh:
        return list(csv.DictReader(fh))


def surface_stations(samples: pd.DataFrame) -> pd.DataFrame:
    return samples[(samples.depth_category == "surface") & (samples.station_kind == "station")]


# ---------------------------------------------------------------- rows and schemas


def test_rows_read_kept_rejected_per_file(result) -> None:  # type: ignore[no-untyped-def]
    by = {f.file: f for f in result.files}
    expected_read = {
        A_1218: 1244,
        A_19: 219,
        B_2021: 413,
        B_22: 233,
        T_21: 60,
        T_22: 53,
        C_24: 260,
        C_25: 24,
    }
    assert {k: v.rows_read for k, v in by.items()} == expected_read
    for f in result.files:
        assert f.rows_read == f.rows_kept + f.rows_rejected, f.file
    # only the two Excel-mangled site rows are rejected
    assert {k: v.rows_rejected for k, v in by.items() if v.rows_rejected} == {A_1218: 2}
    assert len(result.samples) == sum(expected_read.values()) - 2


def test_schema_and_encoding_per_file(result) -> None:  # type: ignore[no-untyped-def]
    got = {f.file: (f.schema, f.encoding) for f in result.files}
    assert got[A_1218] == ("A", "latin-1") and got[A_19] == ("A", "latin-1")
    assert {got[n] for n in (B_2021, B_22, T_21, T_22)} == {("B", "utf-8")}
    assert got[C_24] == ("C", "utf-8") and got[C_25] == ("C", "utf-8")


def test_surface_station_dates_per_season(samples: pd.DataFrame) -> None:
    """docs/glerl.md § Stations, cadence and value ranges: surface-station dates per season."""
    got = surface_stations(samples).groupby("year")["date"].nunique().to_dict()
    expected = {2012: 15, 2013: 21, 2014: 21, 2015: 23, 2016: 19, 2017: 22, 2018: 18, 2019: 18,
                2020: 16, 2021: 21, 2022: 20, 2024: 22, 2025: 2}  # fmt: skip
    assert got == expected


def test_stations_per_year(samples: pd.DataFrame) -> None:
    st = samples[samples.station_kind == "station"].groupby("year")["station"].agg(lambda s: set(s)).to_dict()
    core = {"WE2", "WE4", "WE6", "WE8", "WE9", "WE12", "WE13", "WE16"}
    assert st[2012] == st[2013] == {"WE2", "WE4", "WE6", "WE8"}
    assert st[2014] == {"WE2", "WE4", "WE6", "WE8", "WE12", "WE13"}
    assert st[2015] == {"WE2", "WE4", "WE6", "WE8", "WE12", "WE13", "WE14", "WE15"}
    assert st[2016] == st[2017] == {"WE2", "WE4", "WE6", "WE8", "WE9", "WE12", "WE13", "WE15"}
    for year in (2018, 2019, 2020, 2021, 2022, 2024, 2025):
        assert st[year] == core, year
    assert 2023 not in st


def test_station_kinds(samples: pd.DataFrame) -> None:
    kinds = samples.groupby("station_kind")["station"].agg(lambda s: set(s)).to_dict()
    assert {s for s in kinds["transect"]} == {s for s in kinds["transect"] if s.startswith("T")}
    assert len(kinds["transect"]) == 113  # every transect sample id is distinct
    assert kinds["scum"] == {"2017.1", "2017.2", "2017.3", "2019.1", "2019.2", "2020.1", "2022.1",
                             "2024.1", "2024.2", "2024.3"}  # fmt: skip
    assert {s for s in kinds["adhoc"]} == {s for s in kinds["adhoc"] if s.startswith("WE 201")}


# ---------------------------------------------------------------- censoring


def test_censored_pmc_counts_match_the_raw_tokens(result) -> None:  # type: ignore[no-untyped-def]
    for f in result.files:
        col = [r[PMC_HEADER[f.file]].strip() for r in raw_rows(f.file)]
        tokens = sum(v.startswith("<") or v.lower() == "bdl" for v in col)
        assert f.pmc_censored == tokens, f.file
    by = {f.file: f.pmc_censored for f in result.files}
    assert by == {
        A_1218: 420,
        A_19: 108,
        B_2021: 162,
        B_22: 89,
        T_21: 28,
        T_22: 29,
        C_24: 100,
        C_25: 0,
    }


def test_surface_station_pmc_2012_2024_matches_domain(samples: pd.DataFrame) -> None:
    """docs/glerl.md: 1588 surface station samples 2012–2024, 981 detected, 584 censored."""
    s = surface_stations(samples)
    s = s[s.year <= 2024]
    assert len(s) == 1588
    assert int((s.pmc_ugL.notna() & ~s.pmc_ugL_censored).sum()) == 981
    assert int(s.pmc_ugL_censored.sum()) == 584


def test_2024_pace_era_facts(samples: pd.DataFrame) -> None:
    """docs/glerl.md: 168 surface station samples on 22 dates; 99 detected (median 0.87, max 10.57)."""
    s = surface_stations(samples)
    s = s[s.year == 2024]
    det = s[s.pmc_ugL.notna() & ~s.pmc_ugL_censored]
    assert (len(s), s.date.nunique(), len(det)) == (168, 22, 99)
    assert det.pmc_ugL.median() == pytest.approx(0.87)
    assert det.pmc_ugL.max() == pytest.approx(10.57)
    scum = samples[(samples.year == 2024) & (samples.depth_category == "scum")]
    assert scum.pmc_ugL.max() == pytest.approx(55.31)


def test_censored_values_are_the_limit_never_nan_or_zero(samples: pd.DataFrame) -> None:
    for v in VARIABLES:
        c = samples[samples[f"{v}_censored"]]
        assert (c[v] == c[f"{v}_lod"]).all(), v
        assert (c[v] > 0).all() and c[v].notna().all(), v
        u = samples[~samples[f"{v}_censored"]]
        assert u[f"{v}_lod"].isna().all(), v
    pmc = samples[samples.pmc_ugL_censored]
    assert set(pmc.pmc_ugL_lod) == {0.1}  # '<0.1' through 2022 and 'bdl' 2024 alike


def test_bdl_phycocyanin_limits(result, samples: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """PC 'bdl' (2022, 2024) is censored at the smallest detected PC of that file."""
    lods = {name: f["bdl_lods"] for name, f in result.report["files"].items()}
    assert lods[B_22] == {"pc_ugL": pytest.approx(0.02)}
    assert lods[C_24]["pc_ugL"] == pytest.approx(0.01) and lods[C_24]["pmc_ugL"] == 0.1
    pc22 = samples[(samples.source_file == B_22) & samples.pc_ugL_censored]
    assert len(pc22) == 9 and (pc22.pc_ugL == 0.02).all()
    # variable '<x' limits of 2012–2018 are kept as written
    pc = samples[(samples.source_file == A_1218) & samples.pc_ugL_censored]
    assert sorted(set(pc.pc_ugL_lod)) == [0.03, 0.036, 0.06, 0.36, 0.45, 0.6, 0.9, 1.8, 40.0]
    assert len(pc) == 34


def test_missing_tokens_are_counted_not_zero(result, samples: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    f24 = result.report["files"][C_24]["missing_tokens"]
    assert f24["turbidity_ntu"]["ns"] == 90
    assert f24["secchi_m"]["ns"] == 4
    t21 = result.report["files"][T_21]["missing_tokens"]
    assert t21["turbidity_ntu"]["ns"] == 10
    a = result.report["files"][A_1218]["missing_tokens"]
    assert a["secchi_m"]["n/a"] == 5 and a["secchi_m"]["."] == 1
    assert a["dmc_ugL"]["nd"] == 1
    # missing means NaN and not censored
    row = samples[(samples.source_file == C_24) & (samples.turbidity_ntu.isna())]
    assert len(row) >= 90 and not row.turbidity_ntu_censored.any()


# ---------------------------------------------------------------- dirty rows


def _row(samples: pd.DataFrame, station: str, date: str, cat: str = "surface") -> pd.Series:
    r = samples[(samples.station == station) & (samples.date == date) & (samples.depth_category == cat)]
    assert len(r) == 1, (station, date, cat)
    return r.iloc[0]


def test_bad_coordinates_replaced_by_station_median(samples: pd.DataFrame) -> None:
    med = load_stations().set_index("station")
    cases = [
        ("WE2", "2012-05-15", ("lat", "lon")),
        ("WE4", "2015-09-08", ("lat",)),
        ("WE2", "2018-05-21", ("lat",)),
        ("WE2", "2018-06-12", ("lat",)),
        ("WE2", "2018-06-25", ("lat",)),
        ("WE8", "2018-09-25", ("lon",)),
        ("WE13", "2022-08-23", ("lon",)),
    ]
    for station, date, fields in cases:
        r = _row(samples, station, date)
        for fld in fields:
            assert r[fld] == med.loc[station, fld], (station, date, fld)
            assert f"{fld}_repaired" in r["flags"].split(";")
        assert r.geometry.x == r.lon and r.geometry.y == r.lat
    # the bottom sample of a repaired visit inherits the repaired position
    b = _row(samples, "WE2", "2018-05-21", "bottom")
    assert b.lat == med.loc["WE2", "lat"]
    # every station visit now lies within 0.05° of its station median
    st = samples[samples.station_kind == "station"].merge(
        med[["lat", "lon"]].add_suffix("_med"), left_on="station", right_index=True
    )
    assert ((st.lat - st.lat_med).abs() <= 0.05).all() and ((st.lon - st.lon_med).abs() <= 0.05).all()


def test_shifted_positions_are_flagged(samples: pd.DataFrame) -> None:
    """2019-08-28: WE6/WE9/WE12 carry WE8/WE12/WE13's positions (a row shift)."""
    for station in ("WE6", "WE9", "WE12"):
        assert "position_near_other_station" in _row(samples, station, "2019-08-28")["flags"]


def test_excel_mangled_sites_rejected_with_reason(result) -> None:  # type: ignore[no-untyped-def]
    rej = result.rejected
    rows = rej[(rej.file == A_1218) & (rej.scope == "row")]
    assert sorted(rows.value) == ["1-Aug", "2-Aug"]
    assert sorted(rows.row) == [209, 210]
    assert rows.reason.str.contains("Excel-mangled").all()


def test_every_rejected_row_has_a_reason_and_file_on_disk(result) -> None:  # type: ignore[no-untyped-def]
    rej = result.rejected
    assert (rej.reason.str.len() > 10).all() and rej.file.notna().all() and (rej.row >= 1).all()
    on_disk = pd.read_csv(result.paths["rejected"], dtype={"value": str}, keep_default_na=False)
    assert list(on_disk.columns) == ["file", "row", "column", "value", "reason", "scope"]
    assert len(on_disk) == len(rej) == 7


def test_wind_excel_ranges_are_rejected_cells(result, samples: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    cells = result.rejected[result.rejected.scope == "cell"]
    assert sorted(cells.value) == ["10-May", "15-Oct", "15-Oct", "15-Oct", "15-Oct"]
    assert (cells.column == "Wind speed (knots)").all()
    # the rows stay, with wind missing
    r = _row(samples, "WE2", "2016-10-11")
    assert math.isnan(r.wind_speed_ms) and r.pmc_ugL > 0


def test_plus_minus_pmc_kept_and_flagged(result, samples: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    r = _row(samples, "WE8", "2015-08-10", "scum")
    assert r.pmc_ugL == 2778.75 and not r.pmc_ugL_censored
    assert "pmc_reported_pm_294" in r["flags"]
    assert any(x["old"] == "2778.75 ± 294" for x in result.report["repairs"])


def test_scum_like_surface_values_kept_and_flagged(samples: pd.DataFrame) -> None:
    r = _row(samples, "WE8", "2015-08-10")
    assert r.chla_ugL == 6784 and r.pc_ugL == pytest.approx(8227.92) and r.pmc_ugL == pytest.approx(296.87)
    assert "scum_like_value" in r["flags"]
    assert "scum_like_value" not in _row(samples, "WE2", "2015-08-10")["flags"]


def test_surface_row_at_depth_zero_is_flagged(samples: pd.DataFrame) -> None:
    r = _row(samples, "WE4", "2017-10-02")
    assert r.sample_depth_m == 0 and "surface_depth_zero" in r["flags"]


def test_blank_scum_depths_filled_with_zero(samples: pd.DataFrame) -> None:
    scum = samples[samples.depth_category == "scum"]
    assert (scum.sample_depth_m == 0).all()
    assert scum["flags"].str.contains("sample_depth_filled").sum() == 16


# ---------------------------------------------------------------- time and position


def test_bottom_rows_inherit_time_and_position_from_surface(samples: pd.DataFrame) -> None:
    s, b = _row(samples, "WE2", "2024-04-24"), _row(samples, "WE2", "2024-04-24", "bottom")
    assert b.time_utc == s.time_utc and (b.lat, b.lon) == (s.lat, s.lon)
    assert b.station_depth_m == s.station_depth_m == 5.514
    assert "inherited_from_surface" in b["flags"]
    bottoms = samples[(samples.depth_category == "bottom") & (samples.station_kind == "station")]
    assert bottoms.lat.notna().all() and bottoms.time_utc.notna().all()


def test_local_eastern_time_to_utc_across_dst(samples: pd.DataFrame) -> None:
    # 2024-04-24 14:21 EDT (UTC-4); 2014-11-03 10:56 EST (UTC-5, the day after DST ended)
    assert _row(samples, "WE2", "2024-04-24").time_utc == pd.Timestamp("2024-04-24 18:21", tz="UTC")
    assert _row(samples, "WE2", "2014-11-03").time_utc == pd.Timestamp("2014-11-03 15:56", tz="UTC")
    assert str(samples.time_utc.dt.tz) == "UTC"


def test_missing_times_are_flagged_not_invented(samples: pd.DataFrame) -> None:
    no_time = samples[samples.time_utc.isna()]
    assert len(no_time) == 10
    assert no_time["flags"].str.contains("time_missing").all()


def test_sample_ids_unique_and_stable(samples: pd.DataFrame) -> None:
    assert samples.sample_id.is_unique
    assert _row(samples, "WE2", "2024-04-24").sample_id == "WE2_20240424_surface"
    assert _row(samples, "WE13", "2015-06-08", "mid").sample_id == "WE13_20150608_mid"


# ---------------------------------------------------------------- files on disk


def test_geoparquet_contract(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gdf = gpd.read_parquet(result.paths["samples"])
    assert gdf.crs.to_epsg() == 4326
    assert (gdf.geometry.x == gdf.lon).all() and (gdf.geometry.y == gdf.lat).all()
    for col in ("sample_id", "station", "station_kind", "time_utc", "date", "lat", "lon", "depth_category",
                "pmc_ugL", "pmc_ugL_censored", "pmc_ugL_lod", "chla_ugL", "pc_ugL", "cdom_a400_m1", "tss_mgL",
                "turbidity_ntu", "secchi_m", "flags", "source_file", "source_row"):  # fmt: skip
        assert col in gdf.columns, col
    assert gdf.pmc_ugL_censored.dtype == bool
    back = load_samples(result.paths["samples"].parent.parent)
    assert len(back) == len(gdf)
    report = json.loads(result.paths["report"].read_text())
    assert report["totals"]["rows_read"] == 2506 and report["totals"]["rows_rejected"] == 2
