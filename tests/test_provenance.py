"""The provenance module: atomic writes leave the old artefact or the new one, never half of one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectm.provenance import (
    atomic_path,
    atomic_write,
    atomic_write_json,
    config_key,
    is_complete,
    mark_complete,
    read_complete,
    stage_run_id,
    temp_path,
    zarr_fingerprint,
)


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    out.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(out, broken)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet"]


def test_temp_name_is_hidden_and_keeps_the_suffix(tmp_path: Path) -> None:
    seen: list[Path] = []
    with atomic_path(tmp_path / "m.gpkg") as tmp:
        seen.append(tmp)
        tmp.write_text("x")
    assert seen[0].name.startswith(".") and seen[0].suffix == ".gpkg"
    assert temp_path(tmp_path / "m.gpkg") == seen[0]
    assert (tmp_path / "m.gpkg").read_text() == "x"


def test_directory_replaced_whole(tmp_path: Path) -> None:
    dst = tmp_path / "c.zarr"
    (dst / "old").mkdir(parents=True)
    with atomic_path(dst, replace_dir=True) as tmp:
        (tmp / "new").mkdir(parents=True)
    assert [p.name for p in dst.iterdir()] == ["new"]
    with pytest.raises(ValueError), atomic_path(dst, replace_dir=True) as tmp:
        (tmp / "newer").mkdir(parents=True)
        raise ValueError
    assert [p.name for p in dst.iterdir()] == ["new"] and len(list(tmp_path.iterdir())) == 1


def test_json_and_markers(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "m.json", {"a": Path("x")})
    assert (tmp_path / "m.json").read_text() == '{\n "a": "x"\n}\n'
    assert not is_complete(tmp_path)
    mark_complete(tmp_path, {"steps": 3})
    assert is_complete(tmp_path) and read_complete(tmp_path) == {"steps": 3}
    assert json.loads((tmp_path / "complete.json").read_text()) == {"steps": 3}


def test_run_keys_are_stable_and_sensitive() -> None:
    assert config_key({"b": 1, "a": 2}) == config_key({"a": 2, "b": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})
    assert stage_run_id("demo", "regress", {"a": 1}) == f"demo-regress-{config_key({'a': 1})}"


def test_twin_keys_of_existing_twins_are_unchanged() -> None:
    """The twin's key predates the provenance module: a twin generated before must stay complete."""
    import hashlib

    from spectm.twin.generate import params_hash

    params = {"generator": 2, "region": "r", "bbox": [-83.5, 41.5, -83.0, 42.0], "seed": 0, "dates": "2024-08-01"}
    legacy = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    assert params_hash(params) == legacy


def test_parts_key_is_the_feature_store_key_of_before() -> None:
    """Feature stores keyed before the provenance module keep their key (no needless rebuild)."""
    import hashlib

    from spectm.provenance import parts_key

    parts = ["3", '{"a":1}', "cubefp", "samplessha"]
    assert parts_key(parts) == hashlib.sha256("|".join(parts).encode()).hexdigest()
    assert parts_key(parts, 12) == parts_key(parts)[:12]


def test_zarr_fingerprint_follows_metadata_and_provenance_not_chunk_bytes(tmp_path: Path) -> None:
    store = tmp_path / "c.zarr"
    xr.Dataset({"v": (("t", "x"), np.zeros((2, 3)))}, coords={"t": [0, 1]}).to_zarr(store, mode="w")
    base = zarr_fingerprint(store, {"source_ids": ["a", "b"]})
    assert base == zarr_fingerprint(store, {"source_ids": ["a", "b"]})
    assert base != zarr_fingerprint(store, {"source_ids": ["a", "c"]})  # another input granule
    assert base != zarr_fingerprint(store)
    chunk = next(p for p in (store / "v").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.write_bytes(chunk.read_bytes() + b"x")  # bytes alone: not a rebuild (tree_sha256 checks those)
    assert base == zarr_fingerprint(store, {"source_ids": ["a", "b"]})
    xr.Dataset({"v": (("t", "x"), np.ones((2, 3)))}, coords={"t": [0, 1]}, attrs={"date_modified": "now"}).to_zarr(
        store, mode="w"
    )
    assert base != zarr_fingerprint(store, {"source_ids": ["a", "b"]})  # a rebuild rewrites the metadata
