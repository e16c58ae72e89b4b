"""Keep other libraries' harmless warnings out of normal output; show them at ``-v``.

These are warnings a user cannot act on and that say nothing about their data:

* rasterio's ``NotGeoreferencedWarning`` when a plain array file (a NetCDF group, a chips
  store) is opened through GDAL: spectm georeferences those itself from their lat/lon or x/y.
* distributed's "Port 8787 is already in use ... Hosting the HTTP server on port N instead"
  when another Dask dashboard runs on the machine: spectm never uses the dashboard.
* distributed's "Couldn't detect a suitable IP address" on a machine without a network route:
  spectm's local cluster runs in-process.

Only these messages are filtered, by text, so any other warning still shows.
"""

from __future__ import annotations

import warnings

QUIET_MESSAGES: tuple[str, ...] = (
    r"Dataset has no geotransform, gcps, or rpcs",
    r"Port \d+ is already in use",
    r"Couldn't detect a suitable IP address",
)

_installed: list[tuple] = []


def quiet_library_warnings(quiet: bool) -> None:
    """Filter :data:`QUIET_MESSAGES` (``quiet``) or show them again; safe to call repeatedly."""
    for f in _installed:
        if f in warnings.filters:
            warnings.filters.remove(f)
    _installed.clear()
    if not quiet:
        return
    for msg in QUIET_MESSAGES:
        warnings.filterwarnings("ignore", message=msg)
        _installed.append(warnings.filters[0])
