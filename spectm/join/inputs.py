"""The join stage's inputs: one cube (``cubes/<region>_<sensor>.zarr``) and the samples table.

Both are fingerprinted for the manifest, so a feature store says exactly what it was built
from and a re-run with the same inputs and parameters is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio: the cube's CRS)
import xarray as xr
from pyproj import CRS, Transformer

from spectm.aoi import parse_bbox
from spectm.cube.cube_settings import cubes_dir, named_cube_path
from spectm.errors import DataNotFoundError, SchemaError
from spectm.join.window import Grid
from spectm.provenance import file_sha256, zarr_fingerprint
from spectm.samples import load_samples
from spectm.samples.ingest import output_paths

DEFAULT_TZ = "America/New_York"
SPECTRUM_VAR = {"pace": "rrs", "s2": "reflectance"}
BAND_DIM = {"pace": "wavelength", "s2": "band"}


@dataclass
class Cube:
    """A cube opened for joining: complete slices only, with its grid, water mask and fingerprint."""

    path: Path
    sensor: str
    region: str
    ds: xr.Dataset  # lazy; complete slices only
    data: xr.DataArray  # (time, band, y, x)
    grid: Grid
    crs: CRS
    wavelengths: np.ndarray  # (band,) nm
    band_names: list[str]  # column stems: "412.5"... (PACE) or asset keys (S2)
    times: np.ndarray  # (time,) datetime64[ns], UTC
    local_days: np.ndarray  # (time,) int days since 1970-01-01 of the local calendar date
    valid: np.ndarray  # (time, y, x) bool: valid_count > 0
    water: np.ndarray  # (y, x) bool
    water_source: str
    timezone: str
    fingerprint: str
    n_incomplete: int

    def to_grid(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        return tr.transform(np.asarray(lon, float), np.asarray(lat, float))


def find_cube(data_dir: Path, sensor: str, cube: str | None) -> Path:
    """``cubes/<cube>_<sensor>.zarr``; without ``cube`` the only cube of that sensor."""
    root = cubes_dir(data_dir)
    if cube:
        path = named_cube_path(data_dir, cube, sensor)
        if not (path / "zarr.json").exists():
            raise DataNotFoundError(
                f"no {sensor} cube at {path}", f"run `spectm build-cube --bbox {cube} --sensor {sensor}` first"
            )
        return path
    found = sorted(root.glob(f"*_{sensor}.zarr")) if root.exists() else []
    if not found:
        raise DataNotFoundError(f"no {sensor} cube in {root}", f"run `spectm build-cube --sensor {sensor}` first")
    if len(found) > 1:
        names = ", ".join(p.name[: -len(f"_{sensor}.zarr")] for p in found)
        raise DataNotFoundError(f"several {sensor} cubes in {root}: {names}", "pick one with --cube NAME")
    return found[0]


def cube_fingerprint(path: Path, ds: xr.Dataset) -> str:
    """The cube's :func:`~spectm.provenance.zarr_fingerprint` over its metadata and per-slice
    provenance (times, source ids, completeness, settings hash)."""
    prov = ("time", "source_ids", "slice_complete", "config_hash")
    return zarr_fingerprint(path, {v: np.asarray(ds[v].values).tolist() for v in prov if v in ds.variables})


def _water_mask(region: str, data_dir: Path, grid: Grid, crs: CRS, valid: np.ndarray) -> tuple[np.ndarray, str, str]:
    """Cells whose centre lies in the region's water polygon; without a polygon, cells valid on
    at least one date ("ever valid"). Returns (mask, source, timezone)."""
    import shapely

    try:
        aoi = parse_bbox(region, data_dir)
    except Exception:  # not a catalogued region (a bbox or custom AOI): fall back below
        aoi = None
    tz = getattr(aoi, "timezone", None) or DEFAULT_TZ
    if aoi is not None and aoi.water is not None:
        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        poly = shapely.transform(aoi.water, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        xx, yy = np.meshgrid(grid.x, grid.y)
        return shapely.contains_xy(poly, xx, yy), "region water polygon", tz
    return valid.any(axis=0), "cells valid on at least one date", tz


def open_cube(data_dir: Path, sensor: str, cube: str | None = None) -> Cube:
    """Open the cube for ``sensor``, keeping only complete slices."""
    path = find_cube(Path(data_dir), sensor, cube)
    try:
        ds = xr.open_zarr(path, consolidated=False)
    except Exception as exc:  # a damaged store raises many types
        raise SchemaError(f"cannot open cube {path}: {exc}", "run `spectm cube verify` and rebuild it") from None
    var = SPECTRUM_VAR[sensor]
    need = [var, "valid_count", "slice_complete", "x", "y", "time"]
    missing = [v for v in need if v not in ds.variables]
    if missing:
        raise SchemaError(f"cube {path} lacks {missing}", "rebuild it with `spectm build-cube` (docs/data-layout.md)")
    complete = np.asarray(ds["slice_complete"].values) == 1
    n_incomplete = int((~complete).sum())
    ds = ds.isel(time=np.flatnonzero(complete))
    bdim = BAND_DIM[sensor]
    data = ds[var].transpose("time", bdim, "y", "x")
    wl = np.asarray(ds["wavelength"].values, dtype=np.float64)
    names = (
        [f"{w:.3f}".rstrip("0").rstrip(".") for w in wl] if sensor == "pace" else [str(b) for b in ds["band"].values]
    )
    grid = Grid(np.asarray(ds["x"].values, float), np.asarray(ds["y"].values, float))
    if grid.x.size < 2 or grid.y.size < 2 or not (np.diff(grid.x) > 0).all() or not (np.diff(grid.y) < 0).all():
        raise SchemaError(
            f"cube {path} grid is not north-up with ≥ 2 cells per axis", "rebuild it with `spectm build-cube`"
        )
    crs = CRS.from_user_input(ds.rio.crs if ds.rio.crs is not None else "EPSG:32617")
    valid = np.asarray(ds["valid_count"].values) > 0
    region = str(ds.attrs.get("spectm_region", path.name[: -len(f"_{sensor}.zarr")]))
    water, wsrc, tz = _water_mask(region, Path(data_dir), grid, crs, valid)
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    local = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()
    local_days = (local.values.astype("datetime64[D]").astype(np.int64)) if len(local) else np.zeros(0, np.int64)
    return Cube(
        path=path,
        sensor=sensor,
        region=region,
        ds=ds,
        data=data,
        grid=grid,
        crs=crs,
        wavelengths=wl,
        band_names=names,
        times=times,
        local_days=np.asarray(local_days, np.int64),
        valid=valid,
        water=water,
        water_source=wsrc,
        timezone=tz,
        fingerprint=cube_fingerprint(path, ds),
        n_incomplete=n_incomplete,
    )


# --------------------------------------------------------------------------- samples


@dataclass
class Samples:
    frame: pd.DataFrame  # the samples considered, index reset
    path: Path
    sha256: str
    n_rows: int
    filtered: dict[str, int]  # rows left out before matching, by reason


def load_samples_for_join(data_dir: Path, *, include_scum: bool, label: str) -> Samples:
    """Read ``insitu/samples.parquet`` and keep surface (and optionally scum) rows.

    Rows of other depths are not match-up candidates (satellites see the surface layer); they
    are counted in ``filtered``. The file's SHA-256 goes into the manifest.
    """
    df = load_samples(Path(data_dir))
    path = output_paths(Path(data_dir))["samples"]
    sha = file_sha256(path)
    need = ["sample_id", "station", "date", "lat", "lon", "depth_category", "time_utc"]
    if label not in df.columns:
        raise SchemaError(
            f"label column '{label}' is not in {path}", "pass a samples column such as pmc_ugL or chla_ugL"
        )
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(f"{path} lacks columns {missing}", "re-run `spectm samples ingest` (docs/data-layout.md)")
    depths = {"surface", "scum"} if include_scum else {"surface"}
    keep = df["depth_category"].isin(depths).to_numpy()
    filtered = {}
    for cat, n in df.loc[~keep, "depth_category"].fillna("unknown").value_counts().sort_index().items():
        filtered[f"depth_{cat}"] = int(n)
    out = pd.DataFrame(df.loc[keep].drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    return Samples(frame=out, path=path, sha256=sha, n_rows=len(df), filtered=filtered)


def params_json(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)
