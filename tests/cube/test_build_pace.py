from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
import zarr

from spectm.cube import build_cube
from spectm.cube.inspect import cube_info, verify_cube
from spectm.cube.store import repair_plan
from spectm.errors import BadInputError, LockedError
from spectm.lock import lock_path
from tests.cube.helpers import BBOX, JUL16A, JUL16B, JUL18, SEASON, V31, V32, add_pace

ROOT = Path(__file__).resolve().parents[2]


def build(d: Path, dates: str = "2024-07-15:2024-07-18", **kw):
    kw.setdefault("scheduler", "synchronous")
    return build_cube(BBOX, dates, data_dir=d, sensors=["pace"], **kw).sensors["pace"]


def load(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, consolidated=False).load()


@pytest.fixture
def season(tmp_path):
    d = tmp_path / "data"
    add_pace(d, SEASON)
    return d


def mtimes(path: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()}


def test_cube_layout_attrs_crs_and_provenance(season):
    r = build(season)
    assert r.days_written == [date(2024, 7, 15), date(2024, 7, 16), date(2024, 7, 18)]
    assert r.days_without_data == 1 and r.items_used == 4
    ds = xr.open_zarr(r.path, consolidated=False)
    assert ds.rrs.dims == ("time", "wavelength", "y", "x") and ds.rrs.dtype == np.float32
    assert ds.sizes["wavelength"] == 172 and float(ds.wavelength[0]) == pytest.approx(346.017, abs=1e-3)
    assert ds.rrs_unc.shape == ds.rrs.shape and ds.valid_count.dtype == np.uint8
    assert ds.rio.crs.to_epsg() == 32617 and ds.rrs.rio.crs.to_epsg() == 32617
    assert ds.rio.transform().a == 1000
    assert str(ds.time.values[1]) == "2024-07-16T18:45:11.000000000"  # midpoint of the day's two granules
    assert list(ds.source_ids.values[1].split(";")) == [JUL16A[:-3], JUL16B[:-3]]
    assert set(ds.processing_version.values) == {"3.1"}
    assert (ds.slice_complete.values == 1).all()
    assert set(ds.config_hash.values) == {r.config_hash} == {ds.attrs["config_hash"]}
    for a in (
        "title",
        "history",
        "date_created",
        "geospatial_lat_min",
        "geospatial_lon_max",
        "Conventions",
        "spectm_version",
        "summary",
        "keywords",
        "license",
        "platform",
        "instrument",
        "processing_level",
        "cdm_data_type",
    ):
        assert a in ds.attrs
    assert ds.attrs["Conventions"] == "CF-1.8, ACDD-1.3" and ds.attrs["spectm_twin"] == "false"
    assert ds.attrs["time_coverage_start"] == "2024-07-15T18:05:12Z"
    assert ds.attrs["time_coverage_end"] == str(ds.time.values[-1])[:19] + "Z"
    assert ds.rrs.attrs["standard_name"].startswith("surface_ratio_of_upwelling_radiance")
    assert ds.rrs.attrs["units"] == "sr-1" and ds.wavelength.attrs["units"] == "nm"
    assert ds.x.attrs["standard_name"] == "projection_x_coordinate" and ds.time.attrs["axis"] == "T"
    assert ds.spatial_ref.attrs["grid_mapping_name"] == "transverse_mercator"
    assert int(ds.valid_count.isel(time=1).max()) == 2  # two granules seen in one cell
    rrs = ds.rrs.values
    assert np.nanmin(rrs) > -0.01 and np.nanmax(rrs) < 0.1
    assert np.array_equal(np.isfinite(rrs).any(axis=1), ds.valid_count.values > 0)
    assert verify_cube(r.path) == []
    info = cube_info(r.path)
    assert info.dims["time"] == 3 and info.crs == "EPSG:32617" and info.size_bytes > 0
    assert 0.5 < info.rows[0][3] < 1.0


def test_v31_and_v32_give_the_same_cube(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    add_pace(a, [V31])
    add_pace(b, [V32])
    ca, cb = load(build(a).path), load(build(b).path)
    np.testing.assert_array_equal(ca.rrs.values, cb.rrs.values)
    np.testing.assert_array_equal(ca.wavelength.values, cb.wavelength.values)
    assert cb.processing_version.values[0] == "3.2"


def test_chunked_equals_unchunked(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    add_pace(a, [JUL16A, JUL16B])
    add_pace(b, [JUL16A, JUL16B])
    ca = load(build(a, "2024-07-16").path)
    cb = load(
        build(b, "2024-07-16", pace_chunks={"number_of_lines": 8, "pixels_per_line": 9}, scheduler="threads").path
    )
    np.testing.assert_array_equal(ca.rrs.values, cb.rrs.values)
    np.testing.assert_array_equal(ca.valid_count.values, cb.valid_count.values)


def test_append_only_new_days_rerun_noop_and_force(season):
    r1 = build(season, "2024-07-15:2024-07-16")
    assert len(r1.days_written) == 2
    first = load(r1.path)
    r2 = build(season, "2024-07-15:2024-07-18")
    assert r2.days_written == [date(2024, 7, 18)] and r2.days_already_complete == 2
    full = load(r2.path)
    assert full.attrs["date_created"] == first.attrs["date_created"]  # an append keeps the creation date
    assert (
        full.attrs["history"].startswith(first.attrs["history"]) and full.attrs["history"].count("\n") == 1
    )  # one line per build
    assert full.attrs["time_coverage_end"].startswith("2024-07-18T") and first.attrs["time_coverage_end"].startswith(
        "2024-07-16T"
    )
    xr.testing.assert_equal(full.isel(time=slice(0, 2)).rrs, first.rrs)
    before = mtimes(r2.path)
    r3 = build(season, "2024-07-15:2024-07-18")
    assert r3.status == "up to date" and r3.items_used == 0
    assert mtimes(r2.path) == before  # a re-run writes nothing
    r4 = build(season, "2024-07-15:2024-07-18", force_dates="2024-07-16")
    assert r4.days_forced == [date(2024, 7, 16)] and not r4.days_written
    xr.testing.assert_equal(load(r4.path).rrs, full.rrs)
    r5 = build(season, "2024-07-15:2024-07-18", force=True)
    assert len(r5.days_forced) == 3


def test_days_before_the_cube_end_are_refused(season):
    build(season, "2024-07-16:2024-07-18")
    with pytest.raises(BadInputError, match="only grow forward"):
        build(season, "2024-07-15:2024-07-18")


def test_changed_settings_are_refused(season):
    build(season, "2024-07-15")
    with pytest.raises(BadInputError, match="other settings"):
        build(season, "2024-07-15:2024-07-16", flags="ATMFAIL,LAND")


def test_unknown_flag_name_is_bad_input(season):
    with pytest.raises(BadInputError, match="unknown l2_flags name"):
        build(season, "2024-07-15", flags="CLOUDY")


def test_concurrent_build_is_refused_and_stale_lock_taken_over(season):
    store = season / "cubes" / "bbox_pace.zarr"
    store.parent.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import psutil

        lock_path(store).write_text(
            json.dumps(
                {
                    "pid": sleeper.pid,
                    "host": socket.gethostname(),
                    "started": "now",
                    "created_ts": psutil.Process(sleeper.pid).create_time(),
                }
            )
        )
        with pytest.raises(LockedError, match=f"PID {sleeper.pid}"):
            build(season, "2024-07-15")
    finally:
        sleeper.kill()
        sleeper.wait()
    r = build(season, "2024-07-15")  # the owner is dead now: stale lock is taken over
    assert r.days_written == [date(2024, 7, 15)] and not lock_path(store).exists()


def test_interrupted_extension_is_truncated(season):
    r = build(season, "2024-07-15:2024-07-16")
    g = zarr.open_group(r.path, mode="r+", zarr_format=3)
    g["rrs"].resize((3, *g["rrs"].shape[1:]))  # as if killed after resizing rrs only
    g["slice_complete"].resize((3,))
    st = repair_plan(r.path)
    assert st.truncated == 1 and st.n_time == 2 and zarr.open_group(r.path)["rrs"].shape[0] == 2
    assert verify_cube(r.path) == []


KILLER = r"""
import os, sys, time
sys.path.insert(0, {root!r})
import spectm.cube.store as store
from spectm.cube import build_cube
from tests.cube.helpers import BBOX
real = store.set_complete
calls = []
def set_complete(path, index, value):
    if value == 1:
        calls.append(index)
        if len(calls) == 2:            # slice 2's data is on disk, its marker is not
            open({marker!r}, "w").close()
            time.sleep(120)
    real(path, index, value)
store.set_complete = set_complete
build_cube(BBOX, "2024-07-15:2024-07-18", data_dir={data!r}, sensors=["pace"], scheduler="synchronous")
"""


def test_kill_mid_build_then_repair_equals_uninterrupted(tmp_path):
    ref_dir, dir_ = tmp_path / "ref", tmp_path / "killed"
    add_pace(ref_dir, SEASON)
    add_pace(dir_, SEASON)
    marker = tmp_path / "marker"
    code = KILLER.format(root=str(ROOT), marker=str(marker), data=str(dir_))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        t0 = time.time()
        while not marker.exists():
            assert proc.poll() is None, "the build exited before reaching the kill point"
            assert time.time() - t0 < 60
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    store = dir_ / "cubes" / "bbox_pace.zarr"
    assert lock_path(store).exists()  # left behind by the killed process
    problems = verify_cube(store)
    assert any("2024-07-16" in p and "incomplete" in p for p in problems)
    r = build(dir_)
    # 07-16 had its data written but no marker; 07-18 was allocated but never written
    assert r.days_repaired == [date(2024, 7, 16), date(2024, 7, 18)] and r.days_written == []
    assert verify_cube(store) == []
    ref = load(build(ref_dir).path)
    got = load(store)
    for v in ("rrs", "rrs_unc", "valid_count", "source_ids", "slice_complete", "time"):
        np.testing.assert_array_equal(got[v].values, ref[v].values)


def test_stage_and_no_items(tmp_path):
    d = tmp_path / "data"
    add_pace(d, [V31])
    r = build(d, "2024-08-01:2024-08-03")
    assert r.days_written == [] and r.days_without_data == 3 and not r.path.exists()
    with pytest.raises(BadInputError, match="no local STAC catalog"):
        build(tmp_path / "empty")
    assert JUL18  # fixture name used elsewhere


def test_rrs_unc_values_and_no_unc_option(tmp_path):
    """rrs_unc is the granule's Rrs_unc at the same neighbour as rrs (one granule) and
    sqrt(u1² + u2²)/2 where two granules saw a cell; ``with_unc=False`` leaves it out."""
    from spectm.aoi import parse_bbox
    from spectm.cube.flags import L3_MASK_DEFAULT, mask_bits
    from spectm.cube.grid import region_geobox
    from spectm.cube.pace_reader import open_l2
    from spectm.cube.regrid import SwathResampler

    d = tmp_path / "data"
    add_pace(d, [V31, JUL16A, JUL16B])
    ds = load(build(d, "2024-07-15:2024-07-16").path)
    resampler = SwathResampler(region_geobox(parse_bbox(BBOX), 1000))
    grids = {}
    for name in (V31, JUL16A, JUL16B):
        g = open_l2(d / "raw" / "pace" / name, with_unc=True)
        grids[name] = resampler.regrid_granule(g, mask_bits(L3_MASK_DEFAULT, g.flag_table), with_unc=True)
    np.testing.assert_array_equal(ds.rrs_unc.values[0], grids[V31].rrs_unc)
    np.testing.assert_array_equal(ds.rrs.values[0], grids[V31].rrs)
    u1, u2 = grids[JUL16A].rrs_unc, grids[JUL16B].rrs_unc
    both = np.isfinite(u1) & np.isfinite(u2)
    assert both.sum() > 100
    np.testing.assert_allclose(ds.rrs_unc.values[1][both], (np.sqrt(u1**2 + u2**2) / 2)[both], rtol=1e-6)
    unc = ds.rrs_unc.values
    assert np.nanmin(unc) > 0 and np.array_equal(np.isfinite(unc), np.isfinite(ds.rrs.values))
    assert ds.rrs_unc.attrs["units"] == "sr-1"

    e = tmp_path / "nounc"
    add_pace(e, [V31])
    r = build(e, "2024-07-15", with_unc=False)
    lean = xr.open_zarr(r.path, consolidated=False)
    assert "rrs_unc" not in lean and "rrs" in lean
    assert json.loads(lean.attrs["spectm_settings"])["with_unc"] is False
    assert verify_cube(r.path) == []
