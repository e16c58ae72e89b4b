"""Several seasons in one twin catalog and one cube; products before a launch say so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from spectm.config import load_pipeline
from spectm.dates import parse_dates, parse_months, seasons
from spectm.errors import SpectmError
from spectm.twin import TwinResult, generate_twin

from .conftest import mini_aoi

DATES = "2015-06-28:2024-06-02"


def _june_2024_samples() -> pd.DataFrame:
    rows = []
    for day in ("2024-06-01", "2024-06-02"):
        for st, lat, lon, chl in (
            ("WE2", 41.7628, -83.3304, 30.0),
            ("WE4", 41.8265, -83.1946, 8.0),
        ):
            rows.append(
                {
                    "station": st,
                    "station_kind": "station",
                    "date": day,
                    "lat": lat,
                    "lon": lon,
                    "depth_category": "surface",
                    "chla_ugL": chl,
                    "pc_ugL": chl * 0.4,
                    "cdom_a400_m1": np.nan,
                    "tss_mgL": np.nan,
                    "pmc_ugL": 1.0,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def two_seasons(tmp_path_factory: pytest.TempPathFactory) -> TwinResult:
    return generate_twin(
        mini_aoi(),
        DATES,
        months="6",
        seasons=[2015, 2024],
        data_dir=tmp_path_factory.mktemp("seasons") / "data",
        samples=_june_2024_samples(),
        s2_resolution_m=120.0,
        s2_revisit_days=3,
    )


def test_season_split() -> None:
    got = seasons(parse_dates("2012-06:2024-10"), parse_months("6-10"))
    assert len(got) == 13 and str(got[0]) == "2012-06-01:2012-10-31" and str(got[-1]) == "2024-06-01:2024-10-31"
    assert all(r.n_days == 153 for r in got)
    assert [r.start.year for r in seasons(parse_dates("2012-06:2024-10"), (6, 10), [2013, 2024])] == [2013, 2024]
    assert len(seasons(parse_dates("2024-06:2024-10"), None)) == 1
    for bad in ("10-6", "13", "june"):
        with pytest.raises(SpectmError):
            parse_months(bad)


def test_each_season_its_own_drivers_and_one_line_for_climatology(two_seasons: TwinResult) -> None:
    days = sorted(p.name.split(".")[1][:8] for p in two_seasons.granules)
    assert days == ["20150628", "20150629", "20150630", "20240601", "20240602"]
    man = json.loads((two_seasons.data_dir / "raw" / "manifest.json").read_text())
    by = {s["dates"]: s["drivers"] for s in man["twin"]["seasons"]}
    assert by == {"2015-06-28:2015-06-30": "climatology", "2024-06-01:2024-06-02": "samples"}
    clim = [n for n in two_seasons.notes if "climatology" in n]
    assert clim == ["1 of 2 seasons from climatology (no samples: 2015)"]
    assert "over 2 seasons" in two_seasons.summary


def test_before_launch_products_say_as_if_flown(two_seasons: TwinResult) -> None:
    for g in two_seasons.granules:
        with netCDF4.Dataset(g) as ds:
            note = getattr(ds, "spectm_as_if_flown", None)
        assert (note is not None) == g.name.startswith("PACE_OCI.2015"), g.name
        if note:
            assert "as if PACE OCI had flown" in note
    items = {
        p.parent.name: json.loads(p.read_text())
        for p in (two_seasons.data_dir / "raw" / "catalog").rglob("*.json")
        if p.name not in ("catalog.json", "collection.json")
    }
    pace = {k: v for k, v in items.items() if k.startswith("PACE")}
    assert len(pace) == 5
    for k, v in pace.items():
        assert ("spectm:as_if_flown" in v["properties"]) == (".2015" in k)
    # S2A flew from 2015-06-23: its 2015-06-28 scene is not marked; a 2016 S2B scene would be
    s2 = {k: v for k, v in items.items() if k.startswith("S2")}
    assert s2 and not any("spectm:as_if_flown" in v["properties"] for v in s2.values())


def test_s2b_before_launch_is_marked(tmp_path: Path) -> None:
    res = generate_twin(
        mini_aoi(),
        "2016-06-01:2016-06-02",
        data_dir=tmp_path / "d",
        samples=_june_2024_samples(),
        s2_resolution_m=120.0,
        s2_revisit_days=1,
    )
    b = [s for s in res.scenes if s.startswith("S2B")]
    assert b
    with rasterio.open(next((tmp_path / "d" / "raw" / "s2" / b[0]).glob("red.tif"))) as src:
        assert "as if Sentinel-2B had flown" in src.tags()["SPECTM_AS_IF_FLOWN"]


def test_season_limit_is_per_season(tmp_path: Path) -> None:
    with pytest.raises(SpectmError, match="per season"):
        generate_twin(mini_aoi(), "2012-06:2024-10", data_dir=tmp_path, samples=_june_2024_samples())


def test_one_cube_over_seasons_keeps_season_days_and_the_note(two_seasons: TwinResult) -> None:
    from spectm.cube.build import build_cube

    shutil.rmtree(two_seasons.data_dir / "cubes", ignore_errors=True)
    res = build_cube(
        mini_aoi(),
        "2015-06:2024-06",
        months="6",
        seasons=[2024],
        data_dir=two_seasons.data_dir,
        sensors=["pace"],
        scheduler="synchronous",
    )
    r = res.sensors["pace"]
    assert [d.isoformat() for d in r.days_written] == ["2024-06-01", "2024-06-02"]
    assert r.items_skipped == {"outside the seasons": 3}
    with pytest.raises(SpectmError, match="grow forward"):  # an earlier season needs a rebuild, said so
        build_cube(
            mini_aoi(),
            "2015-06:2024-06",
            months="6",
            data_dir=two_seasons.data_dir,
            sensors=["pace"],
            scheduler="synchronous",
        )
    ds = xr.open_zarr(r.path, consolidated=False)
    assert ds.sizes["time"] == 2 and "spectm_as_if_flown" not in ds.attrs


def test_cube_over_seasons_marks_pre_launch_slices(two_seasons: TwinResult) -> None:
    from spectm.cube.build import build_cube

    shutil.rmtree(two_seasons.data_dir / "cubes", ignore_errors=True)
    res = build_cube(
        mini_aoi(),
        "2015-06:2024-06",
        months="6",
        data_dir=two_seasons.data_dir,
        sensors=["pace"],
        scheduler="synchronous",
    )
    ds = xr.open_zarr(res.sensors["pace"].path, consolidated=False)
    assert ds.sizes["time"] == 5
    assert ds.attrs["spectm_as_if_flown_days"] == "2015-06-28,2015-06-29,2015-06-30"
    assert "as if it had flown" in ds.attrs["spectm_as_if_flown"]


def test_pipeline_months_and_seasons_keys(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        "name: x\nregion: lake_erie_western_basin\ndates: 2012-06:2024-10\nmonths: 6-10\n"
        "seasons: [2012, 2024]\nmode: twin\nstages: [twin]\n"
    )
    pl = load_pipeline(p)
    assert [str(r) for r in pl.season_ranges()] == [
        "2012-06-01:2012-10-31",
        "2024-06-01:2024-10-31",
    ]
    p.write_text("name: x\nregion: lake_erie_western_basin\ndates: 2024\nmonths: 10-6\n")
    with pytest.raises(SpectmError, match="months"):
        load_pipeline(p)
