"""Sentinel-2 on the PACE grid: ``cubes/<region>_s2_<res>m.zarr`` for sensor fusion.

The S2 and PACE grids of a region nest exactly (both snapped to the PACE cell,
:mod:`spectm.cube.grid`), so S2 goes onto the 1 km grid by a block mean of its valid
20 m cells (:func:`spectm.cube.s2_cube.aggregate`), never by a second resampling.

spectm's choice: the aggregated store is a *derived* product rebuilt in full from the
complete slices of the S2 cube each time it is asked for (a season at 1 km is a few MB;
reading the 20 m cube dominates). It is written lazily, one dask chunk at a time, into
``<store>.tmp`` and renamed over the old store only when complete, so a killed run
leaves the previous store (or none), never a half-written one. Incomplete S2 slices
(``slice_complete == 0``) are left out and counted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spectm.cube.s2_cube import aggregate
from spectm.cube.store import PER_TIME_STR, consolidate, open_cube
from spectm.errors import BadInputError
from spectm.provenance import atomic_path


@dataclass
class FusionResult:
    path: Path
    resolution: float
    slices: int
    skipped_incomplete: int


def default_resolution(s2_store: Path) -> float:
    """The PACE cube's cell size when ``<region>_pace.zarr`` sits next to the S2 cube, else 1000 m."""
    name = s2_store.name.removesuffix("_s2.zarr")
    pace = s2_store.with_name(f"{name}_pace.zarr")
    if pace.exists():
        x = open_cube(pace)["x"].values
        if x.size > 1:
            return float(abs(x[1] - x[0]))
    return 1000.0


def aggregate_store(
    s2_store: Path | str, resolution: float | None = None, out: Path | str | None = None
) -> FusionResult:
    """Write the S2 cube block-averaged to ``resolution`` (default: the PACE grid) as a Zarr v3 store."""
    src = Path(s2_store)
    ds = open_cube(src)
    if "reflectance" not in ds:
        raise BadInputError(f"{src.name} is not a Sentinel-2 cube (no 'reflectance')", "pass cubes/<region>_s2.zarr")
    res = float(resolution or default_resolution(src))
    dst = Path(out) if out else src.with_name(f"{src.name.removesuffix('.zarr')}_{res:g}m.zarr")
    if dst.resolve() == src.resolve():
        raise BadInputError(f"the output {dst} is the input cube", "pass another --out")
    done = np.flatnonzero(ds["slice_complete"].values == 1)
    skipped = int(ds.sizes["time"] - done.size)
    ds = ds.isel(time=done)
    agg = aggregate(ds, res)  # lazy block means (raises BadInputError for a non-nesting resolution)
    for name in (*PER_TIME_STR, "slice_complete"):
        if name in ds:
            agg[name] = ds[name]
    agg["clear_fraction_cell"].attrs.update(
        {"long_name": "Fraction of the S2 cells of this cell that are clear in-water observations", "units": "1"}
    )
    agg["reflectance"].attrs.update(ds["reflectance"].attrs)
    agg.attrs.update(
        {"title": f"{ds.attrs.get('title', src.stem)}, aggregated to {res:g} m", "spectm_derived_from": src.name}
    )
    cy, cx = min(256, agg.sizes["y"]), min(256, agg.sizes["x"])
    agg = agg.chunk({"time": 1, "band": -1, "y": cy, "x": cx})
    for v in agg.variables.values():
        v.encoding.pop("chunks", None)
        v.encoding.pop("preferred_chunks", None)
    with atomic_path(dst, replace_dir=True) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agg.to_zarr(tmp, mode="w-", consolidated=False, zarr_format=3)
        consolidate(tmp)
    return FusionResult(dst, res, int(done.size), skipped)
