"""The Zarr v3 cube store: append time slices, mark them complete, repair after a kill.

Write protocol (why a killed build can never leave a slice that passes for complete):

1. **Extend**: new days are added to the end of the time axis in one metadata-only
   ``to_zarr(append_dim="time", compute=False)``; the per-slice flag
   ``slice_complete`` of the new entries reads as its fill value 0.
2. **Write**: each slice's data is written with a region write (``region={"time": i}``);
   chunks are one time step deep, so a slice write never touches another slice.
   Several slices may be written at once (:mod:`spectm.cube.slice_pool`): the data
   arrays' chunks belong to one slice each and are written unlocked; the 1-D per-time
   arrays share chunks and are written under one lock.
3. **Record**: the size and digest of each of the slice's chunk files go into
   ``chunk_digests[i]`` (:mod:`spectm.cube.integrity`), so later damage is detected.
4. **Mark**: only after the data write returns is ``slice_complete[i]`` set to 1.

``--force`` first sets the flag back to 0, then rewrites. On open, :func:`repair_plan`
truncates arrays that an interrupted extension left longer than ``time`` and lists the
incomplete slices, which the build recomputes. Readers should use
``ds.where(ds.slice_complete == 1, drop=True)`` or run ``spectm cube verify``.
spectm itself always reads and writes with ``consolidated=False`` (the arrays' own
metadata is the truth while a build runs), and re-consolidates the root metadata after
every change (:func:`consolidate`), so a plain ``xr.open_zarr(path)`` by a user opens the
finished store without the "failed to open with consolidated metadata" warning.
Consolidated metadata is a zarr-python extension to Zarr v3 (docs/cube.md § Conventions).
"""

from __future__ import annotations

import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from spectm.console import log
from spectm.cube.integrity import record_digests
from spectm.errors import BadInputError

PER_TIME_STR = ("source_ids", "software_version", "config_hash", "processing_version")


@dataclass
class StoreState:
    """What is already in a store."""

    complete: dict[date, int] = field(default_factory=dict)  # day -> time index
    incomplete: dict[date, int] = field(default_factory=dict)
    truncated: int = 0
    n_time: int = 0
    attrs: dict = field(default_factory=dict)

    @property
    def last_day(self) -> date | None:
        days = list(self.complete) + list(self.incomplete)
        return max(days) if days else None


def open_cube(path: Path) -> xr.Dataset:
    """Open a cube lazily (``xr.open_zarr`` with ``consolidated=False``)."""
    if not Path(path).exists():
        raise BadInputError(f"no cube at {path}", "build it with 'spectm build-cube' or check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return xr.open_zarr(path, consolidated=False, zarr_format=3)
    except (OSError, ValueError, KeyError, zarr.errors.BaseZarrError) as exc:  # type: ignore[attr-defined]
        raise BadInputError(
            f"{path} is not a readable Zarr v3 cube: {exc}", "rebuild it with 'spectm build-cube --force'"
        ) from None


def consolidate(path: Path) -> None:
    """Rewrite the root's consolidated metadata from the arrays' own ``zarr.json`` files.

    Called after every metadata or slice change, so a reader that trusts the consolidated
    copy (``xr.open_zarr`` without ``consolidated=False``) never sees stale shapes or attrs.
    zarr-python warns that the feature is outside the v3 spec on every write; that is a
    documented choice here, not news to the user, so the warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(str(path), zarr_format=3)


def _time_arrays(group: zarr.Group) -> list[tuple[str, zarr.Array, int]]:
    out = []
    for name, arr in group.arrays():
        dims = getattr(arr.metadata, "dimension_names", None) or ()
        if "time" in dims:
            out.append((name, arr, list(dims).index("time")))
    return out


def repair_plan(path: Path, *, dry_run: bool = False) -> StoreState:
    """Inspect (and fix the shape of) an existing store; see the module docstring.

    ``dry_run`` only reads: arrays an interrupted extension left too long are counted in
    ``truncated`` but not cut (``build-cube --dry-run`` reports what a build would do)."""
    path = Path(path)
    if not path.exists():
        return StoreState()
    group = zarr.open_group(path, mode="r" if dry_run else "r+", zarr_format=3, use_consolidated=False)
    arrays = _time_arrays(group)
    if "time" not in group or "slice_complete" not in group:
        raise BadInputError(
            f"{path} is not a spectm cube (no time/slice_complete)", "move it away or pass another --data-dir"
        )
    lengths = {name: arr.shape[ax] for name, arr, ax in arrays}
    n = min(lengths.values())
    times = np.asarray(group["time"][:n])
    units = str(group["time"].attrs.get("units", ""))
    days = _decode_days(times, units)
    # entries whose time value was never written (interrupted extension) are cut off
    bad = [i for i, d in enumerate(days) if d is None]
    if bad:
        done = np.asarray(group["slice_complete"][:n]) == 1
        if done[bad].any():  # an interrupted append never marks a slice complete: this is damage
            raise BadInputError(
                f"{path.name}: the time of {int(done[bad].sum())} complete slice(s) is unset (a missing or damaged "
                f"'time' chunk); cutting them off would discard written data",
                f"restore {path.name}/time from a backup, or delete {path} and rebuild",
            )
        n = bad[0]
    truncated = 0
    for name, arr, ax in arrays:
        if arr.shape[ax] > n:
            shape = list(arr.shape)
            truncated = max(truncated, shape[ax] - n)
            if dry_run:
                continue
            shape[ax] = n
            arr.resize(tuple(shape))
            log.warning("repaired %s: cut '%s' back to %d time steps (interrupted append)", path.name, name, n)
    if truncated and not dry_run:
        consolidate(path)
    flags = np.asarray(group["slice_complete"][:n])
    st = StoreState(n_time=n, truncated=truncated, attrs=dict(group.attrs))
    for i in range(n):
        d = days[i]
        assert d is not None
        (st.complete if flags[i] == 1 else st.incomplete)[d] = i
    return st


def _decode_days(values: np.ndarray, units: str) -> list[date | None]:
    out: list[date | None] = []
    if not units:
        return [None] * len(values)
    ds = xr.Dataset({"t": ("t", values, {"units": units, "calendar": "proleptic_gregorian"})})
    try:
        decoded = xr.decode_cf(ds)["t"].values
    except (ValueError, OverflowError):
        return [None] * len(values)
    for v in decoded:
        if np.isnat(v) or v < np.datetime64("1990-01-01"):
            out.append(None)
        else:
            out.append(v.astype("datetime64[D]").item())
    return out


def create_or_extend(path: Path, template: xr.Dataset, encoding: dict, *, exists: bool) -> None:
    """Metadata-only write of ``template`` (dask-backed data vars are not computed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if exists:
            template.to_zarr(path, append_dim="time", compute=False, consolidated=False, zarr_format=3)
        else:
            template.to_zarr(path, mode="w-", compute=False, consolidated=False, zarr_format=3, encoding=encoding)
    consolidate(path)


def set_complete(path: Path, index: int, value: int) -> None:
    arr = zarr.open_array(Path(path) / "slice_complete", mode="r+", zarr_format=3)
    arr[index] = np.uint8(value)


def slice_owned_arrays(path: Path) -> set[str]:
    """Arrays chunked one time step deep: a slice write touches only chunks of its own.

    The data variables are; the small 1-D per-time arrays (``time``, the provenance strings,
    ``chunk_digests``, ``slice_complete``) hold many time steps per chunk, so writing one
    entry rewrites a chunk that other slices share.
    """
    group = zarr.open_group(path, mode="r", zarr_format=3, use_consolidated=False)
    return {name for name, arr, ax in _time_arrays(group) if arr.chunks[ax] == 1 and name != "slice_complete"}


def _region_write(part: xr.Dataset, path: Path, index: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        part.to_zarr(
            path,
            region={"time": slice(index, index + 1)},
            mode="r+",
            consolidated=False,
            zarr_format=3,
            align_chunks=True,
        )


def write_slice(
    path: Path, index: int, ds_slice: xr.Dataset, *, shared_lock: AbstractContextManager | None = None
) -> None:
    """Write one time step's data and provenance into ``index``, then mark it complete.

    Several slices may be written at once from threads of one process (``shared_lock``
    is then one lock for all of them). The heavy part, computing the slice's dask graph and
    writing its data variables, runs unlocked: those arrays are one time step per chunk
    (:func:`slice_owned_arrays`), so two slices never write the same chunk file. The
    per-time entries (``time``, provenance, ``chunk_digests``, ``slice_complete``) share
    chunks between slices and are read-modified-written under ``shared_lock``, as is the
    root's consolidated metadata. The order that makes kills safe is unchanged: the flag
    goes to 0 first and to 1 last, after the data, provenance and digests are on disk.
    """
    lock = shared_lock if shared_lock is not None else nullcontext()
    keep = [v for v in ds_slice.variables if "time" in ds_slice[v].dims and v != "slice_complete"]
    part = ds_slice[keep].drop_vars([c for c in ds_slice[keep].coords if "time" not in ds_slice[c].dims])
    own = slice_owned_arrays(path)
    data = [v for v in part.data_vars if v in own]
    with lock:
        set_complete(path, index, 0)
    if data:
        _region_write(part[data].drop_vars("time"), path, index)
    shared = part.drop_vars(data).compute()  # any lazy 1-D value is computed outside the lock
    with lock:
        _region_write(shared, path, index)
        record_digests(path, index)
        set_complete(path, index, 1)
        consolidate(path)


def valid_cells(path: Path, index: int) -> int:
    """Cells of time step ``index`` with at least one valid observation (``valid_count > 0``).

    Read back from the store after the write (one small uint8 plane) rather than computed on the
    lazy slice, which would run the slice's whole task graph a second time.
    """
    arr = zarr.open_group(path, mode="r", zarr_format=3)["valid_count"]
    return int(np.count_nonzero(arr[index]))


def update_attrs(path: Path, attrs: dict) -> None:
    group = zarr.open_group(path, mode="r+", zarr_format=3, use_consolidated=False)
    group.attrs.update(attrs)
    consolidate(path)


def store_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
