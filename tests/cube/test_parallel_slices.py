"""Several slices at once: the same cube as one at a time, both cores busy, damage still repaired.

The concurrent builds run with ``scheduler="synchronous"`` so that two slices overlap only
because the build runs two of them at once (no dask threads inside a slice), and each
granule read is slowed down a little so that the slices do overlap.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import spectm.cube.pace_cube as pace_cube
from spectm.cube import build_cube
from spectm.cube.inspect import verify_cube
from spectm.cube.slice_pool import run_bounded
from spectm.errors import BadInputError
from tests.cube.helpers import BBOX, SEASON, add_pace

VARS = ("rrs", "rrs_unc", "valid_count", "source_ids", "config_hash", "processing_version", "slice_complete", "time")
DATES = "2024-07-15:2024-07-18"


def build(d: Path, dates: str = DATES, **kw):
    kw.setdefault("scheduler", "synchronous")
    return build_cube(BBOX, dates, data_dir=d, sensors=["pace"], **kw).sensors["pace"]


def load(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, consolidated=False).load()


def assert_same(got: xr.Dataset, ref: xr.Dataset) -> None:
    for v in VARS:
        np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=v)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The season built one slice at a time (the layout and values to match)."""
    d = tmp_path_factory.mktemp("ref") / "data"
    add_pace(d, SEASON)
    r = build(d, slices_at_once=1)
    return d, load(r.path)


@pytest.fixture
def overlap(monkeypatch):
    """Slow each granule's regrid down and record how many run at the same moment."""
    real = pace_cube._regrid_one
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(*args, **kwargs):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            time.sleep(0.3)
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(pace_cube, "_regrid_one", slow)
    return state


def test_two_at_once_writes_the_same_cube(reference, overlap, tmp_path):
    d = tmp_path / "data"
    add_pace(d, SEASON)
    r = build(d, slices_at_once=2)
    assert overlap["max"] == 2  # two slices were really computed at the same time
    assert r.days_written == [date(2024, 7, 15), date(2024, 7, 16), date(2024, 7, 18)]
    assert r.items_used == 4
    assert verify_cube(r.path) == []
    got = load(r.path)
    assert_same(got, reference[1])
    # the digest record of every slice is its own (no slice's entry lost to another's write)
    assert all(str(v).startswith("{") and f"rrs/c/{i}/" in str(v) for i, v in enumerate(got.chunk_digests.values))


def test_incremental_append_and_force_at_once(reference, overlap, tmp_path):
    d = tmp_path / "data"
    add_pace(d, SEASON)
    first = build(d, "2024-07-15:2024-07-16", slices_at_once=2)
    assert first.days_written == [date(2024, 7, 15), date(2024, 7, 16)]
    more = build(d, slices_at_once=2)
    assert more.days_written == [date(2024, 7, 18)] and more.days_already_complete == 2
    forced = build(d, force=True, slices_at_once=3)
    assert forced.days_forced == [date(2024, 7, 15), date(2024, 7, 16), date(2024, 7, 18)]
    assert verify_cube(forced.path) == []
    assert_same(load(forced.path), reference[1])


def test_damaged_slices_rebuilt_at_once(reference, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(reference[0], d)
    store = d / "cubes" / "bbox_pace.zarr"
    (store / "rrs" / "c" / "0" / "0" / "0" / "0").unlink()
    (store / "valid_count" / "c" / "2" / "0" / "0").write_bytes(b"")
    r = build(d, slices_at_once=2)
    assert r.days_repaired == [date(2024, 7, 15), date(2024, 7, 18)] and r.days_written == []
    assert verify_cube(store) == []
    assert_same(load(store), reference[1])


def test_a_cube_written_one_at_a_time_is_extended_at_once(reference, tmp_path):
    """A store of the earlier one-at-a-time builds (same layout) takes concurrent appends."""
    d = tmp_path / "data"
    add_pace(d, SEASON)
    build(d, "2024-07-15", slices_at_once=1)
    r = build(d, slices_at_once=2)
    assert r.days_written == [date(2024, 7, 16), date(2024, 7, 18)]
    assert verify_cube(r.path) == []
    assert_same(load(r.path), reference[1])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_slices_at_once_must_be_a_whole_number(tmp_path, bad):
    with pytest.raises(BadInputError, match="slices_at_once"):
        build(tmp_path, slices_at_once=bad)


def test_run_bounded_keeps_order_and_limit():
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def job(i: int) -> int:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05 * (i % 3))
        with lock:
            state["now"] -= 1
        return i * i

    assert run_bounded(job, list(range(9)), 3) == [i * i for i in range(9)]
    assert state["max"] == 3


def test_run_bounded_stops_starting_jobs_after_a_failure():
    started = []

    def job(i: int) -> int:
        started.append(i)
        if i == 1:
            raise ValueError("slice 1 failed")
        time.sleep(0.05)
        return i

    with pytest.raises(ValueError, match="slice 1 failed"):
        run_bounded(job, list(range(10)), 2)
    assert len(started) <= 4 and 9 not in started


def test_granule_files_are_never_opened_by_two_threads_at_once(reference, overlap, monkeypatch, tmp_path):
    """netCDF-C/HDF5 are not thread-safe: concurrent slices must take turns at the files."""
    real = pace_cube.open_l2
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def watched(*args, **kwargs):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            time.sleep(0.1)
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(pace_cube, "open_l2", watched)
    d = tmp_path / "data"
    add_pace(d, SEASON)
    r = build(d, slices_at_once=3)
    assert overlap["max"] >= 2 and state["max"] == 1
    assert_same(load(r.path), reference[1])


def test_slices_at_once_follows_the_scheduler_threads():
    from spectm.cube.scheduler import slice_threads

    assert slice_threads("synchronous", 4) == 1
    assert slice_threads("threads", 3) == 3
    assert slice_threads("local", None) == 2 and slice_threads("local", 4) == 4


KILLER = r"""
import sys, time
sys.path.insert(0, {root!r})
import spectm.cube.store as store
from spectm.cube import build_cube
from tests.cube.helpers import BBOX
real = store.set_complete
calls = []
def set_complete(path, index, value):
    if value == 1:
        calls.append(index)
        if len(calls) == 1:            # one slice's data is on disk, its marker is not; another is in flight
            open({marker!r}, "w").close()
            time.sleep(120)
    real(path, index, value)
store.set_complete = set_complete
build_cube(BBOX, {dates!r}, data_dir={data!r}, sensors=["pace"], scheduler="synchronous", slices_at_once=2)
"""


def test_kill_during_a_concurrent_build_then_repair_equals_reference(reference, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    d, marker = tmp_path / "data", tmp_path / "marker"
    add_pace(d, SEASON)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER.format(root=str(root), marker=str(marker), data=str(d), dates=DATES)], cwd=root
    )
    try:
        t0 = time.time()
        while not marker.exists():
            assert proc.poll() is None, "the build exited before reaching the kill point"
            assert time.time() - t0 < 90
            time.sleep(0.05)
        time.sleep(0.5)  # let the other slice in flight get as far as it can
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    store = d / "cubes" / "bbox_pace.zarr"
    assert any("incomplete" in p for p in verify_cube(store))
    r = build(d, slices_at_once=2)
    assert sorted(r.days_repaired + r.days_written) == [date(2024, 7, 15), date(2024, 7, 16), date(2024, 7, 18)]
    assert verify_cube(store) == []
    assert_same(load(store), reference[1])


def test_slices_at_once_on_an_existing_cluster_is_one():
    """A cluster of its own gets one slice at a time, its graph spread over the cluster."""
    from spectm.cube.scheduler import slice_threads

    assert slice_threads("tcp://127.0.0.1:8786", None) == 1 and slice_threads("tcp://127.0.0.1:8786", 4) == 1


def test_concurrent_slices_compute_in_their_own_threads_never_on_the_shared_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference
) -> None:
    """Two slices at once on spectm's LocalCluster: each graph runs on dask's synchronous
    scheduler in its slice's thread (two concurrent gets on one distributed client hung a build);
    one at a time, the cluster computes it. Same cube either way."""
    import dask

    import spectm.cube.build as build_mod

    seen: list[object] = []
    real = build_mod.write_slice

    def spy(*a, **k):
        seen.append(dask.config.get("scheduler", None))
        return real(*a, **k)

    monkeypatch.setattr(build_mod, "write_slice", spy)
    d = tmp_path / "two"
    add_pace(d, SEASON)
    build(d, scheduler="local", slices_at_once=2)
    assert seen and all(s == "synchronous" for s in seen)
    assert_same(load(next((d / "cubes").glob("*_pace.zarr"))), reference[1])
    seen.clear()
    d1 = tmp_path / "one"
    add_pace(d1, SEASON)
    build(d1, scheduler="local", slices_at_once=1)
    assert seen and all(s != "synchronous" for s in seen)
