"""What a cube says about itself: CF-1.8 / ACDD-1.3 attributes and the per-slice provenance.

A cube is read years later by people and tools that never saw the build: its global
attributes name the sensor, the settings hash and the software version (and say plainly
when a cube was simulated by the twin), and every time slice carries the STAC item ids it
was built from. :mod:`spectm.cube.build` writes them; the per-slice variables every
template carries are added by :mod:`spectm.cube.template`.
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


__all__ = [
    "ALGORITHM_VERSION",
    "add_provenance",
    "as_if_flown_attrs",
    "global_attrs",
    "touch_history",
]
