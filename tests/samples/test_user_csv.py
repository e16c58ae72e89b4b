"""A scientist's own CSV through a column-map YAML, and the errors a bad one gives."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from spectm.errors import ConfigError, SchemaError
from spectm.samples import ingest_samples

HERE = Path(__file__).resolve().parents[1] / "data" / "insitu"
CSV, YAML = HERE / "my_lake.csv", HERE / "my_lake.yaml"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return ingest_samples([CSV], data_dir=tmp_path_factory.mktemp("user"), column_map=YAML)


def row(result, station: str, date: str, cat: str = "surface") -> pd.Series:  # type: ignore[no-untyped-def]
    df = result.samples
    r = df[(df.station == station) & (df.date == date) & (df.depth_category == cat)]
    assert len(r) == 1
    return r.iloc[0]


def test_counts_and_rejections(result) -> None:  # type: ignore[no-untyped-def]
    (f,) = result.files
    assert (f.schema, f.rows_read, f.rows_kept, f.rows_rejected) == ("user", 6, 4, 2)
    rej = result.rejected.set_index("row")
    assert "no position" in rej.loc[5, "reason"]
    assert rej.loc[6, "column"] == "SampleDate" and "%Y-%m-%d" in rej.loc[6, "reason"]
    assert set(result.samples.station_kind) == {"user"}


def test_units_converted(result) -> None:  # type: ignore[no-untyped-def]
    r = row(result, "L1", "2024-07-15")
    assert r.pmc_ugL == pytest.approx(0.85)  # 850 ng/L
    assert r.secchi_m == pytest.approx(1.2)  # 120 cm
    assert r.water_temp_c == pytest.approx(25.0)  # 77 °F
    assert r.sample_depth_m == pytest.approx(1.5 * 0.3048)
    assert r.chla_ugL == pytest.approx(12.4)


def test_censoring_in_user_units(result) -> None:  # type: ignore[no-untyped-def]
    b = row(result, "L1", "2024-07-15", "bottom")  # '<50' ng/L
    assert b.pmc_ugL_censored and b.pmc_ugL == pytest.approx(0.05) and b.pmc_ugL_lod == pytest.approx(0.05)
    s = row(result, "L2", "2024-07-15")  # 'bdl' with bdl_lod 30 ng/L from the column map
    assert s.pmc_ugL_censored and s.pmc_ugL == pytest.approx(0.03)
    assert result.report["files"]["my_lake.csv"]["bdl_lods"] == {"pmc_ugL": 30.0}


def test_missing_tokens_counted(result) -> None:  # type: ignore[no-untyped-def]
    r = row(result, "L2", "2024-11-05")
    assert math.isnan(r.pmc_ugL) and not r.pmc_ugL_censored  # 'NA'
    assert math.isnan(r.chla_ugL)  # '-9999' declared in missing_tokens
    miss = result.report["files"]["my_lake.csv"]["missing_tokens"]
    assert miss["pmc_ugL"] == {"na": 1} and miss["chla_ugL"] == {"-9999": 1}
    assert result.report["files"]["my_lake.csv"]["columns_not_carried"] == ["Notes"]


def test_time_zone_and_dst(result) -> None:  # type: ignore[no-untyped-def]
    # America/Chicago: CDT (UTC-5) in July, CST (UTC-6) after 2024-11-03
    assert row(result, "L1", "2024-07-15").time_utc == pd.Timestamp("2024-07-15 15:30", tz="UTC")
    assert row(result, "L2", "2024-11-05").time_utc == pd.Timestamp("2024-11-05 15:00", tz="UTC")
    b = row(result, "L1", "2024-07-15", "bottom")  # inherits time and position
    assert b.time_utc == pd.Timestamp("2024-07-15 15:30", tz="UTC") and (b.lat, b.lon) == (
        43.10,
        -89.40,
    )


def test_timezone_option_overrides(tmp_path: Path) -> None:
    r = ingest_samples([CSV], data_dir=tmp_path, column_map=YAML, timezone="UTC")
    s = r.samples
    t = s[(s.station == "L1") & (s.depth_category == "surface")].time_utc.iloc[0]
    assert t == pd.Timestamp("2024-07-15 10:30", tz="UTC")


def _map(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "map.yaml"
    p.write_text(text)
    return p


def test_unmapped_column_is_a_schema_error(tmp_path: Path) -> None:
    text = YAML.read_text().replace("ignore_columns: [Notes]", "")
    with pytest.raises(SchemaError, match=r"\['Notes'\] are neither mapped nor listed under ignore_columns"):
        ingest_samples([CSV], data_dir=tmp_path, column_map=_map(tmp_path, text))


def test_bad_unit_and_unknown_key_are_config_errors(tmp_path: Path) -> None:
    bad_unit = YAML.read_text().replace("unit: cm}", "unit: furlong}")
    with pytest.raises(ConfigError, match="furlong"):
        ingest_samples([CSV], data_dir=tmp_path, column_map=_map(tmp_path, bad_unit))
    typo = YAML.read_text() + "timezon: UTC\n"
    with pytest.raises(ConfigError, match="unknown key 'timezon'"):
        ingest_samples([CSV], data_dir=tmp_path, column_map=_map(tmp_path, typo))
    no_tz = YAML.read_text().replace("timezone: America/Chicago", "")
    with pytest.raises(ConfigError, match="no time zone"):
        ingest_samples([CSV], data_dir=tmp_path, column_map=_map(tmp_path, no_tz))


def test_user_csv_without_column_map_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError) as exc:
        ingest_samples([CSV], data_dir=tmp_path)
    assert "not a known GLERL layout" in exc.value.message and "--column-map" in (exc.value.remedy or "")


def test_renamed_glerl_header_names_the_header(tmp_path: Path) -> None:
    """The HAB-F-Capstone failure mode: a renamed column must fail loudly, naming it."""
    from spectm.samples import bundled_files

    src = next(p for p in bundled_files() if p.name.startswith("2024_"))
    text = src.read_text().replace("Particulate_Microcystin_ugL-1", "Particulate_MC_ugL-1", 1)
    f = tmp_path / "renamed.csv"
    f.write_text(text)
    with pytest.raises(SchemaError, match="Particulate_MC_ugL-1") as exc:
        ingest_samples([f], data_dir=tmp_path)
    assert exc.value.exit_code == 2
    # a copy with the real header is fine, and a folder argument expands to its CSVs
    (tmp_path / "ok").mkdir()
    shutil.copy(src, tmp_path / "ok" / src.name)
    r = ingest_samples([tmp_path / "ok"], data_dir=tmp_path / "d")
    assert r.files[0].rows_read == 260


def test_no_valid_row_is_refused_and_keeps_the_existing_table(tmp_path: Path) -> None:
    lines = CSV.read_text().splitlines()
    d = tmp_path / "d"
    good = ingest_samples([CSV], data_dir=d, column_map=YAML)
    before = {p: p.read_bytes() for p in good.paths.values()}
    f = tmp_path / "bad_dates.csv"
    f.write_text("\n".join([lines[0], lines[-1]]) + "\n")  # only the wrongly formatted date
    with pytest.raises(
        SchemaError, match=r"no valid row in bad_dates.csv: 1 row\(s\) read.*date is blank or not a date"
    ):
        ingest_samples([f], data_dir=d, column_map=YAML)
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(lines[0] + "\n")
    with pytest.raises(SchemaError, match=r"no valid row in header_only\.csv: 0 row"):
        ingest_samples([header_only], data_dir=d, column_map=YAML, force=True)
    assert {p: p.read_bytes() for p in good.paths.values()} == before  # nothing replaced


def test_streamed_blocks_give_the_same_table_as_one_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spectm.samples.ingest as ingest

    whole = ingest_samples([CSV], data_dir=tmp_path / "a", column_map=YAML)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)  # every block boundary falls inside the file
    blocks = ingest_samples([CSV], data_dir=tmp_path / "b", column_map=YAML)
    pd.testing.assert_frame_equal(blocks.samples.drop(columns="geometry"), whole.samples.drop(columns="geometry"))
    pd.testing.assert_frame_equal(blocks.rejected.astype(str), whole.rejected.astype(str))
    assert blocks.report["files"] == whole.report["files"]
