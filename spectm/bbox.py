"""W,S,E,N boxes in degrees: the checks and the UTM zone every area of interest shares.

A leaf module (no shapely, no catalogs) so that the config models can validate a
region's ``bbox`` without importing the region resolution in :mod:`spectm.aoi`,
which itself reads the catalogs those models describe.
"""

from __future__ import annotations

import math

from spectm.errors import RegionError

BBox = tuple[float, float, float, float]

BBOX_FORMS = "pass a region name (see 'spectm catalogs'), W,S,E,N in degrees, or a GeoJSON file"


def validate_bbox(b: tuple[float, ...] | list[float]) -> BBox:
    """Check a W,S,E,N box in degrees; raise :class:`RegionError` naming the problem."""
    if len(b) != 4:
        raise RegionError(f"a bounding box needs 4 numbers W,S,E,N, got {len(b)}", BBOX_FORMS)
    w, s, e, n = (float(x) for x in b)
    for label, v in (("W", w), ("S", s), ("E", e), ("N", n)):
        if not math.isfinite(v):
            raise RegionError(f"bounding box {label} is not a finite number ({v})", BBOX_FORMS)
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise RegionError(f"longitude outside ±180 in bbox {w},{s},{e},{n}", "longitudes are W and E, in degrees east")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise RegionError(
            f"latitude outside ±90 in bbox {w},{s},{e},{n}", "latitudes are S and N; did you swap lon and lat?"
        )
    if w >= e:
        raise RegionError(
            f"bbox W ({w}) must be less than E ({e})",
            "order is W,S,E,N; boxes across the antimeridian are not supported",
        )
    if s >= n:
        raise RegionError(f"bbox S ({s}) must be less than N ({n})", "order is W,S,E,N")
    return (w, s, e, n)


def utm_crs_for(lon: float, lat: float) -> str:
    """The UTM zone CRS (WGS 84) that contains a point."""
    zone = min(60, int((lon + 180) // 6) + 1)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"
