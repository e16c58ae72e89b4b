"""Per-chunk digests of a cube's time slices: recorded at write time, checked later.

Why: Zarr reads a missing chunk as its fill value (NaN, 0), so a deleted ``rrs`` chunk
is indistinguishable from "no observation", and a damaged chunk is only noticed when its
codec happens to fail. After a slice's data is written, and before it is marked complete,
the store's write protocol records, for every chunk file of that slice, its size and
BLAKE2b-128 digest in the per-slice string variable ``chunk_digests`` (JSON
``{"rrs/c/3/0/0/0": [size, "hex"], ...}``). A chunk Zarr did not write (all fill value)
is simply not listed, so "absent" and "deleted" are told apart.

Two depths of check:

* **shallow** (``deep=False``): every recorded file exists with its recorded size, and no
  unrecorded file appeared; only ``stat`` calls, so ``build-cube`` runs it on every call;
* **deep**: also re-hashes each file (bit flips of the same size), as ``cube verify`` and
  ``build-cube --repair`` do.

Only arrays chunked one time step deep are covered (the data variables): the 1-D
per-time arrays share chunks between slices and are checked by decoding them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import zarr

DIGEST_VAR = "chunk_digests"
_SKIP = {DIGEST_VAR, "slice_complete"}


def _slice_chunk_keys(group: zarr.Group, index: int) -> list[str]:
    """Keys (relative to the store) of every chunk that belongs to time step ``index`` alone."""
    keys = []
    for name, arr in group.arrays():
        dims = list(getattr(arr.metadata, "dimension_names", None) or ())
        if name in _SKIP or "time" not in dims or arr.chunks[dims.index("time")] != 1:
            continue
        ax = dims.index("time")
        grid = [range(n) for n in arr.cdata_shape]
        grid[ax] = range(index, index + 1)
        keys.extend(f"{name}/{arr.metadata.encode_chunk_key(c)}" for c in itertools.product(*grid))
    return sorted(keys)


def _digest(p: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def slice_digests(path: Path, index: int) -> str:
    """The JSON digest record of slice ``index`` as it is on disk now."""
    path = Path(path)
    group = zarr.open_group(path, mode="r", zarr_format=3)
    rec = {}
    for key in _slice_chunk_keys(group, index):
        f = path / key
        if f.is_file():
            rec[key] = [f.stat().st_size, _digest(f)]
    return json.dumps(rec, sort_keys=True, separators=(",", ":"))


def record_digests(path: Path, index: int) -> bool:
    """Store slice ``index``'s digests; ``False`` for a cube written before digests existed."""
    path = Path(path)
    if not (path / DIGEST_VAR / "zarr.json").exists():
        return False
    arr = zarr.open_array(path / DIGEST_VAR, mode="r+", zarr_format=3)
    arr[index] = slice_digests(path, index)
    return True


def read_digests(path: Path) -> list[str] | None:
    """The recorded digest JSON per time step (``""`` where none), or ``None`` for a cube without them."""
    path = Path(path)
    if not (path / DIGEST_VAR / "zarr.json").exists():
        return None
    return [str(v) for v in np.asarray(zarr.open_array(path / DIGEST_VAR, mode="r", zarr_format=3)[:])]


def check_slice(path: Path, index: int, recorded: str, *, deep: bool, group: zarr.Group | None = None) -> list[str]:
    """What is wrong with slice ``index``'s chunk files against ``recorded`` (empty: nothing)."""
    path = Path(path)
    try:
        rec = json.loads(recorded)
        if not isinstance(rec, dict):
            raise ValueError
    except ValueError:
        return ["its chunk digest record is unreadable"]
    problems = []
    for key, (size, digest) in sorted(rec.items()):
        f = path / key
        if not f.is_file():
            problems.append(f"chunk {key} is missing")
            continue
        got = f.stat().st_size
        if got == 0:
            problems.append(f"chunk {key} is empty (0 of {size} bytes)")
        elif got != size:
            problems.append(f"chunk {key} has {got} bytes, {size} were written (truncated or overwritten)")
        elif deep and _digest(f) != digest:
            problems.append(f"chunk {key} does not match its checksum (corrupted on disk)")
    group = group if group is not None else zarr.open_group(path, mode="r", zarr_format=3)
    for key in _slice_chunk_keys(group, index):
        if key not in rec and (path / key).is_file():
            problems.append(f"chunk {key} was not written by the build (unexpected file)")
    return problems


def damaged_slices(path: Path, indices: list[int], *, deep: bool) -> dict[int, list[str]]:
    """Problems per damaged time step among ``indices`` (complete slices).

    Slices with a digest record are checked against it (``deep``: also re-hashed). With
    ``deep``, every slice's time-chunked arrays are also decoded, which is the only check
    a slice written before digests existed gets (a missing chunk then goes unnoticed).
    """
    path = Path(path)
    group = zarr.open_group(path, mode="r", zarr_format=3)
    recorded = read_digests(path)
    out: dict[int, list[str]] = {}
    for i in indices:
        rec = recorded[i] if recorded is not None and i < len(recorded) else ""
        problems = check_slice(path, i, rec, deep=deep, group=group) if rec else []
        if deep and not problems:
            problems = _decode_problems(group, i)
        if problems:
            out[i] = problems
    return out


def _decode_problems(group: zarr.Group, index: int) -> list[str]:
    problems = []
    for name, arr in group.arrays():
        dims = list(getattr(arr.metadata, "dimension_names", None) or ())
        if name in _SKIP or "time" not in dims or arr.chunks[dims.index("time")] != 1:
            continue
        sel = tuple(index if d == "time" else slice(None) for d in dims)
        try:
            arr[sel]
        except Exception as exc:  # any codec failure (zstd frame, short buffer, …) means damage
            problems.append(f"'{name}' cannot be decoded ({type(exc).__name__}: {str(exc)[:120]})")
    return problems
