"""End to end on the Lake Erie twin: generate 3 days on a tiny extent, build both cubes,
put S2 on the PACE grid."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr
import zarr
from shapely.geometry import box

from spectm import twin
from spectm.aoi import AOI, parse_bbox
from spectm.contract import StageResult
from spectm.cube import build_cube
from spectm.cube.inspect import verify_cube

DATES = "2024-07-11:2024-07-13"  # the twin has an S2 scene on 07-12


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    region = parse_bbox("lake_erie_western_basin")
    b = (-83.30, 41.65, -83.20, 41.72)
    aoi = AOI(
        name="tiny",
        bbox=b,
        geometry=box(*b),
        crs=region.crs,
        resolution=region.resolution,
        water=region.water.intersection(box(*b)),
        s2_tiles=region.s2_tiles,
    )
    d = tmp_path_factory.mktemp("twin") / "data"
    twin.generate_twin(aoi, DATES, data_dir=d, use_samples_stage=False)
    return aoi, d, build_cube(aoi, DATES, data_dir=d, scheduler="threads")


def test_twin_to_cubes(built):
    aoi, d, res = built
    pace, s2 = res.sensors["pace"], res.sensors["s2"]
    assert pace.days_written and s2.days_written and not pace.items_failed and not s2.items_failed
    for r in (pace, s2):
        assert verify_cube(r.path) == []
        attrs = xr.open_zarr(r.path, consolidated=False).attrs
        assert attrs["spectm_twin"] == "true" and "SIMULATED" in attrs["summary"]  # never passes for real data
    p = xr.open_zarr(pace.path, consolidated=False)
    assert p.sizes["wavelength"] == 172 and p.rio.crs.to_epsg() == 32617
    assert int((p.valid_count > 0).sum()) > 0
    rrs = p.rrs.values
    assert np.nanmax(rrs) < 0.1 and np.nanmin(rrs) > -0.01
    s = xr.open_zarr(s2.path, consolidated=False)
    assert float(s.x[0] - s.x[1]) == -20 and (s.x.values[0] - 10) % 1000 == 0 == (p.x.values[0] - 500) % 1000
    assert float(s.x[0]) - 10 == float(p.x[0]) - 500  # same grid extent: S2 nests in PACE
    again = build_cube(aoi, DATES, data_dir=d, scheduler="threads")
    assert all(r.status == "up to date" for r in again.sensors.values())
    # the one stage result: done on the first build, skipped when every day was complete
    for r, status in ((res, "done"), (again, "skipped")):
        assert isinstance(r, StageResult) and r.stage == "cube" and r.status == status
        assert r.summary.startswith("pace: ") and r.outputs == [str(pace.path), str(s2.path)]
        assert all(isinstance(v, int) for v in r.counts.values())
    n = len(pace.days_written) + len(s2.days_written)
    assert res.counts["days_written"] == n == again.counts["days_complete"] and again.counts["days_written"] == 0


def test_s2_on_the_pace_grid(built, capsys):
    """``spectm cube aggregate``: S2 block means land exactly on the PACE cube's cells."""
    from spectm.cube.fusion import aggregate_store
    from spectm.cube.s2_cube import aggregate
    from tests.cube.test_cli import spectm

    _, d, res = built
    s2, pace = res.sensors["s2"], res.sensors["pace"]
    code, _, err = spectm(capsys, d, "cube", "aggregate", "tiny")
    assert code == 0, err
    fused = xr.open_zarr(d / "cubes" / "tiny_s2_1000m.zarr", consolidated=False).load()
    p = xr.open_zarr(pace.path, consolidated=False)
    np.testing.assert_array_equal(fused.x.values, p.x.values)
    np.testing.assert_array_equal(fused.y.values, p.y.values)
    assert fused.rio.crs.to_epsg() == 32617 and fused.rio.transform().a == 1000
    src = xr.open_zarr(s2.path, consolidated=False).load()
    np.testing.assert_allclose(fused.reflectance.values, aggregate(src, 1000).reflectance.values, rtol=1e-6)
    t, j, i = np.unravel_index(int(np.argmax(fused.clear_fraction_cell.values)), fused.clear_fraction_cell.shape)
    block = (
        src.reflectance.isel(time=t, y=slice(50 * j, 50 * j + 50), x=slice(50 * i, 50 * i + 50)).sel(band="red").values
    )
    assert np.isfinite(block).sum() > 100  # a 1 km cell = its own 50 × 50 S2 cells
    got = float(fused.reflectance.isel(time=t, y=j, x=i).sel(band="red"))
    assert got == pytest.approx(float(np.nanmean(block)), rel=1e-5)
    assert float(fused.clear_fraction_cell.isel(time=t, y=j, x=i)) == pytest.approx(np.isfinite(block).mean())
    assert list(fused.source_ids.values) == list(src.source_ids.values)
    # an incomplete S2 slice is left out and counted (on a copy: the fixture is shared)
    copy = d / "cubes" / "copy_s2.zarr"
    shutil.copytree(s2.path, copy)
    zarr.open_array(copy / "slice_complete", mode="r+")[0] = 0
    r = aggregate_store(copy, 1000)
    assert r.skipped_incomplete == 1 and r.slices == src.sizes["time"] - 1
    assert r.path.name == "copy_s2_1000m.zarr" and not r.path.with_name(r.path.name + ".tmp").exists()


def test_info_and_quicklook_of_both_cubes(built, tmp_path):
    from spectm.cube.inspect import cube_info, quicklook

    _, _, res = built
    for r in res.sensors.values():
        info = cube_info(r.path)
        assert info.size_bytes > 0 and info.crs == "EPSG:32617" and info.dims["time"] == len(info.rows)
        assert all(0.0 <= row[3] <= 1.0 and row[2] == 1 for row in info.rows)
        png = quicklook(r.path, png=tmp_path / f"{r.sensor}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
