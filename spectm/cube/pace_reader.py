"""Lazy reader for PACE OCI L2 AOP granules (v3.1 and v3.2 layouts).

Reader rule (docs/pace.md § Wavelengths and the v3.2 layout): Rrs comes from ``geophysical_data`` and its third
dimension is the band axis *whatever its name* (``wavelength_3d`` in ≤3.1,
``wavelength`` in 3.2). Float band centres come from ``geophysical_data/wavelength``
when present (3.2), else the integer ``wavelength_3d`` is mapped through the OCI
band-pass table (``oci_wavelengths.csv``, copied from ``oci_bandpass.csv``).

Decoding is done here, not by xarray, because xarray does not mask by
``valid_min``/``valid_max``: the raw int16 is read, fill and out-of-range values
become NaN, then the file's own ``scale_factor``/``add_offset`` are applied.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from spectm.cube.flags import flag_table
from spectm.errors import BadInputError

_REMEDY = "the file may be truncated or not an L2 AOP granule; re-download it with 'spectm fetch --force'"


@dataclass
class L2Granule:
    """A lazily opened granule: dask arrays plus what the regridder needs to know."""

    path: Path
    rrs: xr.DataArray  # (line, pixel, wavelength) float32, NaN where fill/out of range
    rrs_unc: xr.DataArray | None
    flags: xr.DataArray  # (line, pixel) int32
    lon: xr.DataArray  # (line, pixel) float32, NaN where fill
    lat: xr.DataArray
    wavelength: np.ndarray  # float nm band centres
    flag_table: dict[str, int]
    time_start: datetime
    time_end: datetime
    processing_version: str


@lru_cache(maxsize=1)
def oci_centres() -> dict[int, float]:
    """Nominal integer wavelength → centre wavelength (nm) of the 286 OCI bands."""
    path = Path(__file__).with_name("oci_wavelengths.csv")
    out: dict[int, float] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            nominal, centre = line.split(",")
            out[int(nominal)] = float(centre)
    return out


NETCDF_LOCK = threading.RLock()
"""Held by every thread of a build while it opens, reads or releases a granule: netCDF-C and
HDF5 keep global state that is not thread-safe, and xarray's own lock covers only the data
reads. Reading is serial within a process either way (HDF5), so this costs little."""


def _parse_time(value: object, path: Path, name: str) -> datetime:
    text = str(value).strip().rstrip("Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"{path.name}: global attribute {name}={value!r} is not an ISO time", _REMEDY) from None


def decode_packed(raw: xr.DataArray) -> xr.DataArray:
    """Raw packed integers → float32 physical values with fill and valid range masked.

    Uses the variable's own ``_FillValue``, ``valid_min``/``valid_max`` and
    ``scale_factor``/``add_offset`` (read with ``mask_and_scale=False``).
    """
    a = raw.attrs
    enc = raw.encoding
    fill = a.get("_FillValue", enc.get("_FillValue"))
    # float64 arithmetic, float32 result: 0.05 + raw*2e-6 in float32 would err by ~4e-9
    scale = float(np.float32(a.get("scale_factor", 1.0)))
    offset = float(np.float32(a.get("add_offset", 0.0)))
    bad = xr.zeros_like(raw, dtype=bool)
    if fill is not None:
        bad = bad | (raw == fill)
    if "valid_min" in a:
        bad = bad | (raw < a["valid_min"])
    if "valid_max" in a:
        bad = bad | (raw > a["valid_max"])
    out = (raw.astype(np.float64) * scale + offset).astype(np.float32).where(~bad)
    out.attrs = {
        k: v for k, v in a.items() if k not in ("_FillValue", "scale_factor", "add_offset", "valid_min", "valid_max")
    }
    return out.astype(np.float32)


def _open_group(path: Path, group: str, chunks: dict | None) -> xr.Dataset:
    try:
        return xr.open_dataset(
            path, group=group, engine="netcdf4", mask_and_scale=False, decode_times=False, chunks=chunks
        )
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(f"cannot open group '{group}' of {path.name}: {exc}", _REMEDY) from None


def open_l2(path: str | Path, *, chunks: dict | None = None, with_unc: bool = False) -> L2Granule:
    """Open an L2 AOP granule lazily (dask-backed; ``chunks=None`` means one chunk per variable
    along the band axis and whole row blocks, the layout the file is read in).

    Raises :class:`BadInputError` when the file cannot be read or lacks Rrs.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"granule {path} does not exist", "run 'spectm fetch' (or 'spectm twin generate') first")
    chunks = {} if chunks is None else chunks
    geo = _open_group(path, "geophysical_data", chunks)
    nav = _open_group(path, "navigation_data", chunks)
    try:
        gattrs = xr.open_dataset(path, engine="netcdf4", decode_times=False).attrs
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read global attributes of {path.name}: {exc}", _REMEDY) from None
    if "Rrs" not in geo or "l2_flags" not in geo:
        raise BadInputError(
            f"{path.name} has no Rrs/l2_flags in geophysical_data", "pass L2 AOP granules (PACE_OCI_L2_AOP)"
        )
    rrs_raw = geo["Rrs"]
    if rrs_raw.ndim != 3:
        raise BadInputError(f"{path.name}: Rrs has {rrs_raw.ndim} dims, expected 3 (lines, pixels, bands)", _REMEDY)
    line_dim, pixel_dim, band_dim = rrs_raw.dims
    wavelength = _wavelengths(path, geo, band_dim, rrs_raw.shape[2], chunks)
    rename = {line_dim: "line", pixel_dim: "pixel", band_dim: "wavelength"}

    def prep(v: xr.DataArray) -> xr.DataArray:
        v = v.rename({k: n for k, n in rename.items() if k in v.dims})
        return v.drop_vars([c for c in v.coords if c not in v.dims])

    rrs = prep(decode_packed(rrs_raw)).assign_coords(wavelength=wavelength)
    unc = None
    if with_unc and "Rrs_unc" in geo:
        unc = prep(decode_packed(geo["Rrs_unc"])).assign_coords(wavelength=wavelength)
    nav = nav.rename({k: n for k, n in rename.items() if k in nav.dims})
    for d in list(nav.dims):  # some tools see the pixel dim as pixel_control_points
        if d not in ("line", "pixel") and nav.sizes[d] == rrs.sizes["pixel"]:
            nav = nav.rename({d: "pixel"})
    lon = prep(decode_packed(nav["longitude"]))
    lat = prep(decode_packed(nav["latitude"]))
    flags = prep(geo["l2_flags"])
    return L2Granule(
        path=path,
        rrs=rrs,
        rrs_unc=unc,
        flags=flags,
        lon=lon,
        lat=lat,
        wavelength=wavelength,
        flag_table=flag_table(geo["l2_flags"].attrs),
        time_start=_parse_time(gattrs.get("time_coverage_start"), path, "time_coverage_start"),
        time_end=_parse_time(
            gattrs.get("time_coverage_end", gattrs.get("time_coverage_start")), path, "time_coverage_end"
        ),
        processing_version=str(gattrs.get("processing_version", "unknown")),
    )


def _wavelengths(path: Path, geo: xr.Dataset, band_dim: str, n: int, chunks: dict | None) -> np.ndarray:
    if "wavelength" in geo.variables and geo["wavelength"].dims == (band_dim,):  # v3.2
        w = np.asarray(geo["wavelength"].values, dtype=np.float64)
        return w.astype(np.float32).astype(np.float64)
    sbp = _open_group(path, "sensor_band_parameters", None)
    if band_dim not in sbp.variables:
        raise BadInputError(
            f"{path.name}: no float 'wavelength' in geophysical_data and no '{band_dim}' in sensor_band_parameters",
            _REMEDY,
        )
    nominal = np.asarray(sbp[band_dim].values).astype(int)
    table = oci_centres()
    missing = [int(v) for v in nominal if int(v) not in table]
    if missing or len(nominal) != n:
        raise BadInputError(f"{path.name}: band wavelengths {missing[:5]} are not OCI bands", _REMEDY)
    return np.array([table[int(v)] for v in nominal], dtype=np.float32).astype(np.float64)


def granule_window(g: L2Granule, bounds_lonlat: tuple[float, float, float, float]) -> tuple[slice, slice] | None:
    """Row/column block of the swath whose pixels fall in a lon/lat box (None if none do).

    Only the 2-D navigation arrays are read to find it, so the 3-D Rrs of a
    full granule (~750 MB raw) is never read outside the block.
    """
    w, s, e, n = bounds_lonlat
    lon = np.asarray(g.lon.values)
    lat = np.asarray(g.lat.values)
    inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    if not inside.any():
        return None
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
