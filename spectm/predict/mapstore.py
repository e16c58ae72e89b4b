"""The map cube ``maps/<name>.zarr`` (Zarr v3): layout, template and per-date writes.

Written to ``maps/.<name>.zarr.partial`` date by date (memory stays one date's mosaic) and
renamed into place when every date is written, so ``maps/<name>.zarr`` is always whole.
Layout (docs/data-layout.md § maps):

* ``mc_log10`` (time, y, x) float32 — predicted particulate microcystin, log10 µg/L, NaN = none;
* ``mc_ugL`` (time, y, x) float32 — the same in µg/L (``10 ** mc_log10``);
* ``n_pred`` (time, y, x) uint8 — chip predictions blended into the cell (0 = no prediction);
* ``valid`` (time, y, x) uint8 — 1 where ``mc_log10`` is finite;
* ``water`` (y, x) uint8 — the cube's water mask (land is never predicted);
* ``target_date`` (time) — the day the prediction is for (imagery date + ``lead_days`` for
  the ``ahead`` horizon); ``tiles_<reason>`` / ``tiles_predicted`` (time) int32 counts;
* ``spatial_ref`` (CF grid mapping; ``ds.rio.crs`` works on a plain ``open_zarr``).

Metadata is consolidated when the store is committed, so a plain ``xr.open_zarr`` opens it
without a warning; the attributes follow CF-1.8 / ACDD-1.3 like the cubes' (docs/cube.md
§ Conventions). GIS users get the same maps as Cloud-Optimized GeoTIFFs
(:mod:`spectm.predict.cog`).
"""

from __future__ import annotations

import json
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from pyproj import CRS, Transformer

from spectm import __version__
from spectm.cf import common_attrs
from spectm.cube.store import consolidate
from spectm.join.inputs import Cube
from spectm.predict.tiling import SKIP_REASONS
from spectm.provenance import replace_dir_with

GRIDDED = ("mc_log10", "mc_ugL", "n_pred", "valid")
COUNTS = ("tiles_predicted", *(f"tiles_{r}" for r in SKIP_REASONS))
CHUNK = 512


def maps_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "maps"


def store_path(data_dir: Path, name: str) -> Path:
    return maps_dir(data_dir) / f"{name}.zarr"


def partial_path(data_dir: Path, name: str) -> Path:
    return maps_dir(data_dir) / f".{name}.zarr.partial"


def _bounds_lonlat(cube: Cube) -> tuple[float, float, float, float]:
    g = cube.grid
    ny, nx = g.shape
    xs = np.linspace(g.left, g.left + nx * g.res, 21)
    ys = np.linspace(g.top - ny * g.res, g.top, 21)
    edge_x = np.concatenate([xs, xs, np.full(21, xs[0]), np.full(21, xs[-1])])
    edge_y = np.concatenate([np.full(21, ys[0]), np.full(21, ys[-1]), ys, ys])
    lon, lat = Transformer.from_crs(cube.crs, "EPSG:4326", always_xy=True).transform(edge_x, edge_y)
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def global_attrs(cube: Cube, provenance: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """CF/ACDD attributes and provenance (regressor, cube fingerprint, spectm version)."""
    w, s, e, n = _bounds_lonlat(cube)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "title": f"Predicted particulate microcystin, {cube.region} ({cube.sensor})",
        "summary": "Per-pixel microcystin (log10 µg/L and µg/L) predicted by a spectm regressor from "
        "cube chips and mosaicked; NaN where no prediction (land, cloud, too few valid pixels).",
        "source": f"spectm predict from {cube.path.name}",
        "history": f"{now} spectm {__version__} predict (regressor {provenance.get('regressor')})",
        **common_attrs((w, s, e, n), f"POLYGON (({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))", now),
        "id": f"spectm-maps-{cube.region}-{cube.sensor}-{cube.fingerprint[:12]}",
        "cdm_data_type": "Grid",
        "spectm_region": cube.region,
        "spectm_sensor": cube.sensor,
        "spectm_cube": str(cube.path),
        "spectm_cube_fingerprint": cube.fingerprint,
        "spectm_provenance": json.dumps(provenance, sort_keys=True, default=str),
        "spectm_settings": json.dumps(settings, sort_keys=True, default=str),
    }


def template(cube: Cube, times: np.ndarray, target: np.ndarray, attrs: dict[str, Any]) -> tuple[xr.Dataset, dict]:
    """The lazy (dask-backed) dataset whose metadata is written first, and its encoding."""
    import dask.array as da

    ny, nx = cube.grid.shape
    nt = times.size
    chunks = (1, min(CHUNK, ny), min(CHUNK, nx))
    shape = (nt, ny, nx)
    f32 = da.full(shape, np.nan, dtype=np.float32, chunks=chunks)
    u8 = da.zeros(shape, dtype=np.uint8, chunks=chunks)
    ds = xr.Dataset(
        {
            "mc_log10": (
                ("time", "y", "x"),
                f32,
                {
                    "long_name": "predicted particulate microcystin (log10)",
                    "units": "log10(ug L-1)",
                    "coverage_content_type": "modelResult",
                },
            ),
            "mc_ugL": (
                ("time", "y", "x"),
                f32,
                {
                    "long_name": "predicted particulate microcystin",
                    "units": "ug L-1",
                    "coverage_content_type": "modelResult",
                },
            ),
            "n_pred": (
                ("time", "y", "x"),
                u8,
                {
                    "long_name": "number of chip predictions blended into the cell",
                    "units": "1",
                    "coverage_content_type": "auxiliaryInformation",
                },
            ),
            "valid": (
                ("time", "y", "x"),
                u8,
                {
                    "long_name": "prediction available",
                    "flag_values": np.array([0, 1], np.uint8),
                    "flag_meanings": "no_prediction predicted",
                    "coverage_content_type": "qualityInformation",
                },
            ),
            "water": (
                ("y", "x"),
                cube.water.astype(np.uint8),
                {
                    "long_name": "water mask of the cube",
                    "source": cube.water_source,
                    "flag_values": np.array([0, 1], np.uint8),
                    "flag_meanings": "land water",
                    "coverage_content_type": "auxiliaryInformation",
                },
            ),
            **{
                c: (
                    "time",
                    np.zeros(nt, np.int32),
                    {
                        "long_name": f"tiles: {c[6:].replace('_', ' ')}",
                        "units": "1",
                        "coverage_content_type": "auxiliaryInformation",
                    },
                )
                for c in COUNTS
            },
        },
        coords={
            "time": ("time", times.astype("datetime64[ns]"), {"long_name": "imagery (overpass) time, UTC"}),
            "target_date": ("time", target.astype("datetime64[ns]"), {"long_name": "day the prediction is for, UTC"}),
            "y": ("y", cube.grid.y, {"standard_name": "projection_y_coordinate", "units": "m"}),
            "x": ("x", cube.grid.x, {"standard_name": "projection_x_coordinate", "units": "m"}),
        },
        attrs=attrs,
    )
    ds = ds.rio.write_crs(CRS.from_user_input(cube.crs).to_wkt())
    ds["spatial_ref"].attrs["long_name"] = "coordinate reference system (CF grid mapping)"
    for v in (*GRIDDED, "water"):  # as the cube does it: ds.rio.crs works on a plain open_zarr
        ds[v].encoding.pop("grid_mapping", None)
        ds[v].attrs["grid_mapping"] = "spatial_ref"
        ds[v].encoding["coordinates"] = "spatial_ref" if v == "water" else "target_date spatial_ref"
    enc: dict[str, dict] = {v: {"chunks": chunks} for v in GRIDDED}
    enc["mc_log10"]["fill_value"] = np.nan
    enc["mc_ugL"]["fill_value"] = np.nan
    enc["x"] = {"_FillValue": None}  # CF: a coordinate variable has no missing values
    enc["y"] = {"_FillValue": None}
    enc["time"] = {"units": "seconds since 1970-01-01", "dtype": "int64"}
    enc["target_date"] = {"units": "seconds since 1970-01-01", "dtype": "int64"}
    return ds, enc


def create(path: Path, ds: xr.Dataset, encoding: dict) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, compute=False, encoding=encoding)


def to_ugL(mc_log10: np.ndarray) -> np.ndarray:
    """µg/L from log10 µg/L, float32, NaN where there is no prediction (the ``mc_ugL`` layer)."""
    mc = np.asarray(mc_log10, dtype=np.float32)
    return np.power(10.0, np.where(np.isfinite(mc), mc, np.nan)).astype(np.float32)


def write_date(path: Path, i: int, mean: np.ndarray, count: np.ndarray, counts: dict[str, int]) -> None:
    """Write date ``i``: the mosaic (NaN = none), its prediction counts and the tile counts."""
    mc = mean.astype(np.float32)[None]
    ok = np.isfinite(mc)
    part = xr.Dataset(
        {
            "mc_log10": (("time", "y", "x"), mc),
            "mc_ugL": (("time", "y", "x"), to_ugL(mc)),
            "n_pred": (("time", "y", "x"), np.minimum(count, 255).astype(np.uint8)[None]),
            "valid": (("time", "y", "x"), ok.astype(np.uint8)),
            **{c: ("time", np.array([counts.get(c, 0)], np.int32)) for c in COUNTS},
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part.to_zarr(path, region={"time": slice(i, i + 1)}, mode="r+", consolidated=False, zarr_format=3)


def commit(partial: Path, final: Path) -> None:
    """Replace ``final`` with the finished ``partial`` store."""
    consolidate(partial)
    replace_dir_with(partial, final)
