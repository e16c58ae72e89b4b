"""What a cube says about itself: CF-1.8 / ACDD-1.3 attributes and the per-slice provenance.

A cube is read years later by people and tools that never saw the build: its global
attributes name the sensor, the settings hash and the software version (and say plainly
when a cube was simulated by the twin), and every time slice carries the STAC item ids it
was built from. :mod:`spectm.cube.build` writes them; the sensor builders
(:mod:`spectm.cube.builders`, :mod:`spectm.cube.s2_cube`) finish their templates here.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor used for the CRS)
import xarray as xr

from spectm import __version__
from spectm.aoi import AOI
from spectm.cf import common_attrs
from spectm.cube.integrity import DIGEST_VAR
from spectm.cube.store import update_attrs

ALGORITHM_VERSION = "1"  # bump when a change alters cube values for the same inputs

_SENSOR_META = {
    "pace": {
        "title": "PACE OCI L2 AOP remote sensing reflectance",
        "source": "NASA PACE OCI L2 AOP (OB.DAAC)",
        "platform": "PACE",
        "instrument": "OCI",
        "keywords": "remote sensing reflectance, Rrs, ocean color, hyperspectral, PACE, OCI, harmful algal blooms",
        "license": "Derived from NASA PACE data, free and open under the NASA Earth Science Data and "
        "Information Policy; cite the source DOI (e.g. 10.5067/PACE/OCI/L2/OC_AOP/3.1).",
    },
    "s2": {
        "title": "Sentinel-2 L2A surface reflectance",
        "source": "ESA Sentinel-2 L2A via STAC",
        "platform": "Sentinel-2",
        "instrument": "MSI",
        "keywords": "surface reflectance, Sentinel-2, MSI, harmful algal blooms",
        "license": "Contains modified Copernicus Sentinel data (Legal notice on the use of Copernicus "
        "Sentinel Data and Service Information).",
    },
}


def global_attrs(aoi: AOI, sensor: str, chash: str, settings: dict, *, twin: bool) -> dict:
    """CF-1.8 / ACDD-1.3 global attributes of a new cube (``time_coverage_*`` are kept current
    by :func:`touch_history`)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta = _SENSOR_META[sensor]
    summary = "Masked, gridded daily time slices built by spectm build-cube from the local STAC catalog."
    source = meta["source"]
    if twin:  # never let a simulated cube pass for real data
        summary += " SIMULATED: built from the spectm Lake Erie twin, not from satellite data."
        source += " format, simulated by the spectm Lake Erie twin"
    return {
        "title": f"{meta['title']}, {aoi.name}, analysis-ready cube" + (" (simulated twin)" if twin else ""),
        "summary": summary,
        "keywords": f"{meta['keywords']}, {aoi.name}",
        "source": source,
        "platform": meta["platform"],
        "instrument": meta["instrument"],
        "processing_level": "L3 (L2 data masked and gridded to daily slices)",
        "product_version": f"spectm {__version__}, cube algorithm {ALGORITHM_VERSION}",
        "cdm_data_type": "Grid",
        # ACDD id: stable for one region, sensor and settings (an append keeps the store's attrs)
        "id": f"spectm-cube-{aoi.name}-{sensor}-{chash}",
        "license": meta["license"],
        "history": f"{now} spectm {__version__} build-cube (sensor={sensor}, config {chash})",
        **common_attrs(aoi.bbox, aoi.geometry.wkt, now),
        "time_coverage_resolution": "P1D",
        "spectm_region": aoi.name,
        "spectm_sensor": sensor,
        "spectm_twin": "true" if twin else "false",
        "config_hash": chash,
        "spectm_settings": json.dumps(settings, sort_keys=True, default=str),
    }


def as_if_flown_attrs(attrs: dict, days: list[date]) -> dict:
    """Say in the cube's attributes which days were simulated before the sensor flew (twin only)."""
    if not days:
        return attrs
    old = attrs.get("spectm_as_if_flown_days", "")
    all_days = sorted({*(old.split(",") if old else []), *(d.isoformat() for d in days)})
    attrs["spectm_as_if_flown_days"] = ",".join(all_days)
    attrs["spectm_as_if_flown"] = (
        f"{len(all_days)} time slice(s) ({all_days[0]} to {all_days[-1]}) are twin simulations dated before the "
        "sensor launched, simulated as if it had flown: no real imagery exists for them (docs/twin.md)"
    )
    if "as if" not in attrs.get("summary", ""):
        attrs["summary"] = (
            attrs.get("summary", "")
            + " Some slices are dated before the sensor's launch, simulated as if it had flown."
        )
    return attrs


def add_provenance(ds: xr.Dataset, ids: list[str], chash: str) -> xr.Dataset:
    ds = ds.copy()
    ds["source_ids"] = ("time", np.array([";".join(ids)], dtype=object))
    ds["software_version"] = ("time", np.array([f"spectm {__version__}"], dtype=object))
    ds["config_hash"] = ("time", np.array([chash], dtype=object))
    if "processing_version" not in ds:
        ds["processing_version"] = ("time", np.array(["unknown"], dtype=object))
    ds["slice_complete"] = ("time", np.zeros(1, dtype=np.uint8))
    return ds


def touch_history(path: Path, old_attrs: dict, counts: tuple[int, int, int], chash: str) -> None:
    """Append a history line; refresh ``date_modified`` and ACDD ``time_coverage_start/end``."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    new, repaired, forced = counts
    line = f"{now} spectm {__version__} build-cube: {new} new, {repaired} repaired, {forced} rebuilt day(s) (config {chash})"
    hist = old_attrs.get("history")
    attrs = {"date_modified": now, "history": f"{hist}\n{line}" if hist else line}
    times = xr.open_zarr(path, consolidated=False, zarr_format=3)["time"].values
    if len(times):
        attrs["time_coverage_start"] = f"{np.datetime_as_string(times.min(), unit='s')}Z"
        attrs["time_coverage_end"] = f"{np.datetime_as_string(times.max(), unit='s')}Z"
    update_attrs(path, attrs)


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
    for name in ("source_ids", "software_version", "config_hash", "processing_version", DIGEST_VAR):
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


__all__ = [
    "ALGORITHM_VERSION",
    "PROVENANCE_LONG_NAMES",
    "TIME_ENCODING",
    "add_provenance",
    "as_if_flown_attrs",
    "finish_template",
    "global_attrs",
    "touch_history",
]
