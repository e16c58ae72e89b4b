"""Damage on disk is found by ``cube verify`` and rebuilt by ``build-cube``.

Each case damages one slice (2024-07-16, index 1) of a built PACE cube the way a disk,
a sync tool or a careless user would, and checks that verify names that slice (and only
it), that build-cube rebuilds exactly that slice, and that the result equals the cube
before the damage.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from spectm.cube import build_cube
from spectm.cube.inspect import verify_cube
from tests.cube.helpers import BBOX, SEASON, add_pace
from tests.cube.test_cli import build_pace, spectm

DAY = date(2024, 7, 16)
VARS = ("rrs", "rrs_unc", "valid_count", "source_ids", "slice_complete", "time")


def build(d: Path, **kw):
    kw.setdefault("scheduler", "synchronous")
    return build_cube(BBOX, "2024-07-15:2024-07-18", data_dir=d, sensors=["pace"], **kw).sensors["pace"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    d = tmp_path_factory.mktemp("pristine") / "data"
    add_pace(d, SEASON)
    r = build(d)
    assert verify_cube(r.path) == []
    ref = xr.open_zarr(r.path, consolidated=False).load()
    return d, ref


@pytest.fixture
def cube(pristine, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(pristine[0], d)
    return d, d / "cubes" / "bbox_pace.zarr", pristine[1]


def _delete(store: Path) -> None:
    (store / "rrs" / "c" / "1" / "0" / "0" / "0").unlink()


def _truncate(store: Path) -> None:
    f = store / "rrs" / "c" / "1" / "0" / "0" / "0"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _empty(store: Path) -> None:
    (store / "rrs_unc" / "c" / "1" / "0" / "0" / "0").write_bytes(b"")


def _bitflip(store: Path) -> None:
    f = store / "rrs" / "c" / "1" / "0" / "0" / "0"
    b = bytearray(f.read_bytes())
    b[len(b) // 2] ^= 0x04  # one bit in the middle of the zstd frame: the size does not change
    f.write_bytes(bytes(b))


def _missing_slice(store: Path) -> None:
    for var in ("rrs", "rrs_unc", "valid_count"):
        shutil.rmtree(store / var / "c" / "1")


DAMAGE = {
    "deleted chunk": (_delete, "rrs/c/1/0/0/0 is missing", False),
    "truncated chunk": (_truncate, "truncated", False),
    "empty chunk": (_empty, "is empty", False),
    "bit-flipped chunk": (_bitflip, "does not match its checksum", True),
    "missing slice": (_missing_slice, "valid_count/c/1/0/0 is missing", False),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_verify_names_the_damaged_slice_and_build_rebuilds_only_it(cube, kind):
    d, store, ref = cube
    damage, expect, needs_repair = DAMAGE[kind]
    damage(store)
    problems = verify_cube(store)
    assert problems, f"{kind} passed as good"
    assert all("slice 1 (2024-07-16) is damaged" in p for p in problems), problems
    assert any(expect in p for p in problems), problems
    if needs_repair:  # same size: only the re-hash of --repair finds it; a plain build leaves it
        assert build(d).status == "up to date"
        r = build(d, repair=True)
    else:  # found by the stat-only check every build makes
        r = build(d)
    assert r.days_repaired == [DAY] and r.days_written == [] and r.days_forced == []
    assert list(r.days_damaged) == ["2024-07-16"]
    assert verify_cube(store) == []
    got = xr.open_zarr(store, consolidated=False).load()
    for v in VARS:
        np.testing.assert_array_equal(got[v].values, ref[v].values)


@pytest.mark.parametrize(
    ("attr", "value", "expect"),
    [
        ("config_hash", "0123456789ab", "is not the hash of spectm_settings"),
        ("spectm_sensor", "s2", "does not match the data variable 'rrs'"),
        ("time_coverage_end", "2024-09-30T00:00:00Z", "time_coverage_end 2024-09-30T00:00:00Z does not match time"),
        ("spectm_settings", "not json", "'spectm_settings' is missing or not JSON"),
    ],
)
def test_wrong_global_attributes_are_found(cube, attr, value, expect):
    _, store, _ = cube
    zarr.open_group(store, mode="r+").attrs[attr] = value
    problems = verify_cube(store)
    assert any(expect in p for p in problems), problems


def test_a_slice_built_with_other_settings_is_found(cube):
    _, store, _ = cube
    zarr.open_array(store / "config_hash", mode="r+")[1] = "ffffffffffff"
    assert any("slices were built with config ['ffffffffffff']" in p for p in verify_cube(store))


def test_digests_are_recorded_per_slice_at_write_time(cube):
    _, store, _ = cube
    ds = xr.open_zarr(store, consolidated=False)
    recs = [json.loads(str(v)) for v in ds.chunk_digests.values]
    assert [sorted(r) for r in recs] == [
        [f"rrs/c/{i}/0/0/0", f"rrs_unc/c/{i}/0/0/0", f"valid_count/c/{i}/0/0"] for i in range(3)
    ]
    f = store / "rrs" / "c" / "2" / "0" / "0" / "0"
    assert recs[2]["rrs/c/2/0/0/0"][0] == f.stat().st_size


def test_cube_without_digests_still_catches_undecodable_chunks(cube, caplog):
    """A cube from before the digests: decoding is the check, and it reports, not crashes."""
    _, store, _ = cube
    shutil.rmtree(store / "chunk_digests")
    assert verify_cube(store) == []  # an old cube is not a broken one
    _truncate(store)
    with caplog.at_level("WARNING"):
        problems = verify_cube(store)
    assert "no per-chunk digests" in caplog.text
    assert any("slice 1 (2024-07-16) is damaged: 'rrs' cannot be decoded" in p for p in problems), problems


def test_cli_verify_exit_code_and_repair_option(cube, capsys):
    d, store, _ = cube
    _bitflip(store)
    code, out, _ = spectm(capsys, d, "cube", "verify", str(store))
    assert code == 1 and "slice 1 (2024-07-16) is damaged" in out and "checksum" in out
    code, out, err = build_pace(capsys, d, "--repair")
    assert code == 0, err
    assert "damaged slice 2024-07-16" in out
    code, out, _ = spectm(capsys, d, "cube", "verify", str(store))
    assert code == 0 and "OK" in out


def test_a_cube_without_digests_can_still_be_appended_to(tmp_path):
    d = tmp_path / "data"
    add_pace(d, SEASON)
    r = build_cube(BBOX, "2024-07-15", data_dir=d, sensors=["pace"], scheduler="synchronous").sensors["pace"]
    shutil.rmtree(r.path / "chunk_digests")  # as written by spectm before the digests
    r = build(d)
    assert r.days_written == [date(2024, 7, 16), date(2024, 7, 18)]
    assert "chunk_digests" not in xr.open_zarr(r.path, consolidated=False) and verify_cube(r.path) == []


def test_a_deleted_time_chunk_is_reported_and_never_truncates_the_cube(cube):
    from spectm.errors import BadInputError

    d, store, _ = cube
    (store / "time" / "c" / "0").unlink()  # every time value reads as the fill value 0
    assert any("time has unset entries" in p for p in verify_cube(store))
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    with pytest.raises(BadInputError, match="time of 3 complete slice"):
        build(d)
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    assert zarr.open_group(store, mode="r")["rrs"].shape[0] == 3
