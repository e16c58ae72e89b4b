"""CF-1.8 / ACDD-1.3 global attributes that every store spectm writes shares (cubes, maps).

Each writer adds its own title, summary, source and history; the conventions, the creation
and modification times and the geographic extent are written here once, the same way.
"""

from __future__ import annotations

from typing import Any

from spectm import __version__


def common_attrs(bbox: tuple[float, float, float, float], bounds_wkt: str, now: str) -> dict[str, Any]:
    """Conventions, institution, ``date_created/modified`` = ``now``, the lon/lat extent of
    ``bbox`` (west, south, east, north; EPSG:4326) with ``bounds_wkt`` as its geometry, and the
    spectm version."""
    w, s, e, n = bbox
    return {
        "Conventions": "CF-1.8, ACDD-1.3",
        "institution": "spectm",
        "date_created": now,
        "date_modified": now,
        "geospatial_lon_min": w,
        "geospatial_lon_max": e,
        "geospatial_lat_min": s,
        "geospatial_lat_max": n,
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_units": "degrees_east",
        "geospatial_bounds_crs": "EPSG:4326",
        "geospatial_bounds": bounds_wkt,
        "spectm_version": __version__,
    }
