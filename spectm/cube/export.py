"""Export time slices of a cube (or map store) as a CF-1.8 / ACDD-1.3 netCDF-4 file.

Why an exporter rather than ``ds.to_netcdf``: Zarr attributes are JSON, so a store's
``flag_values`` come back as plain integers (int64 in netCDF) while CF requires them in
the flagged variable's own type; and xarray gives every float variable a ``_FillValue``,
which CF forbids on coordinate variables. The exported file is what a netCDF tool (or
the IOOS compliance-checker, see docs/cube.md § Conventions) expects; data values and
types are copied unchanged.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from spectm.errors import BadInputError

_KEEP_ENCODING = ("units", "calendar", "dtype")


def cf_slice(ds: xr.Dataset, dates: list[str] | None = None) -> xr.Dataset:
    """The time steps of ``ds`` on ``dates`` (YYYY-MM-DD; all when None), with CF-typed
    flag attributes and no fill value on coordinates."""
    if dates:
        days = np.asarray(ds["time"].values).astype("datetime64[D]").astype(str)
        idx = [i for i, d in enumerate(days) if d in set(dates)]
        missing = sorted(set(dates) - set(days[idx]))
        if missing:
            raise BadInputError(
                f"no time slice on {', '.join(missing)}",
                f"pick dates of the store: {', '.join(days[:10])}",
            )
        ds = ds.isel(time=idx)
    out = ds.copy()
    for name, var in out.variables.items():
        enc = {k: v for k, v in var.encoding.items() if k in _KEEP_ENCODING}
        if name in out.dims or name == "spatial_ref":
            enc["_FillValue"] = None
        elif var.dtype.kind == "f":
            enc["_FillValue"] = var.dtype.type(np.nan)
        else:
            enc["_FillValue"] = None
        var.encoding = enc
        for key in ("flag_values", "valid_min", "valid_max", "valid_range"):
            if key in var.attrs and var.dtype.kind in "iuf":
                var.attrs[key] = np.asarray(var.attrs[key]).astype(var.dtype)
    return out


def export_netcdf(ds: xr.Dataset, out: Path, dates: list[str] | None = None) -> Path:
    """Write :func:`cf_slice` of ``ds`` to ``out`` (netCDF-4); returns ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sub = cf_slice(ds, dates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sub.to_netcdf(out, engine="netcdf4", format="NETCDF4")
    return out
