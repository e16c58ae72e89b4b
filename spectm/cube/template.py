"""The cube template's shared parts: per-slice provenance variables, CF attributes, the time encoding.

Both sensors' builders (:mod:`spectm.cube.pace_cube` via :mod:`spectm.cube.build`, and
:mod:`spectm.cube.s2_cube`) finish their templates the same way, so this sits below both
instead of inside the build orchestration that imports them.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor used for the CRS)
import xarray as xr

from spectm.aoi import AOI
from spectm.cube.integrity import DIGEST_VAR

PROVENANCE_LONG_NAMES = {
    "source_ids": "STAC item ids combined into this time slice",
    "software_version": "spectm version that wrote this time slice",
    "config_hash": "hash of the cube settings this time slice was built with",
    "processing_version": "processing version of the source data of this time slice",
}

TIME_ENCODING = {
    "time": {"units": "seconds since 1970-01-01T00:00:00", "dtype": "int64", "calendar": "proleptic_gregorian"},
    "slice_complete": {"dtype": "uint8"},
}


def finish_template(ds: xr.Dataset, aoi: AOI, var_attrs: dict) -> xr.Dataset:
    """Add the per-time provenance variables, CF attributes and the CRS to a template."""
    nt = ds.sizes["time"]
    for name in (*PROVENANCE_LONG_NAMES, DIGEST_VAR):
        ds[name] = ("time", np.array([""] * nt, dtype=object))
    ds[DIGEST_VAR].attrs["long_name"] = (
        "size and BLAKE2b-128 digest of each chunk file of this slice, as written (JSON)"
    )
    ds["slice_complete"] = (
        "time",
        np.zeros(nt, dtype=np.uint8),
        {
            "long_name": "1 when every variable of this time slice was written",
            "flag_values": np.array([0, 1], dtype=np.uint8),
            "flag_meanings": "incomplete complete",
            "coverage_content_type": "qualityInformation",
        },
    )
    for name, long_name in PROVENANCE_LONG_NAMES.items():
        ds[name].attrs.update({"long_name": long_name, "coverage_content_type": "auxiliaryInformation"})
    for name, attrs in var_attrs.items():
        if name in ds.variables:
            ds[name].attrs.update(attrs)
    ds["time"].attrs.update({"standard_name": "time", "long_name": "overpass time (UTC)", "axis": "T"})
    ds = ds.rio.write_crs(aoi.crs)
    ds["spatial_ref"].attrs["long_name"] = "coordinate reference system (CF grid mapping)"
    for name in ("x", "y", *[c for c in ("wavelength",) if c in ds.coords]):
        ds[name].encoding["_FillValue"] = None  # CF: a coordinate variable has no missing values
    for name in ds.data_vars:
        if {"y", "x"} <= set(ds[name].dims):
            ds[name].attrs["grid_mapping"] = "spatial_ref"
            # also list spatial_ref in `coordinates` so a plain xr.open_zarr (decode_coords=True)
            # keeps it as a coordinate and ds.rio.crs works without decode_coords="all"
            ds[name].encoding["coordinates"] = "spatial_ref"
    return ds
