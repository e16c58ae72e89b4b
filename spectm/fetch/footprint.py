"""Granule footprints and the true-intersection post-filter.

CMR matches a swath polygon against the *box* it was given, so a wide box returns
passes that miss the lake, and polar-crossing granules come back for mid-latitude
boxes (earthaccess#1464; docs/pace.md § Search: CMR and earthaccess). spectm therefore re-checks every footprint
against the region geometry (its water polygon when it has one) with shapely.

UMM-G polygons are lon/lat rings. A ring that crosses the antimeridian has a
longitude span > 180° when read naively; such rings are unwrapped into 0…360° and
tested against the region shifted by +360° as well, so they neither vanish nor
turn into a band around the whole globe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union


def _ring(points: list[Mapping[str, float]]) -> list[tuple[float, float]]:
    coords = [(float(p["Longitude"]), float(p["Latitude"])) for p in points]
    lons = [c[0] for c in coords]
    if max(lons) - min(lons) > 180:  # crosses the antimeridian: unwrap into 0..360
        coords = [((x + 360) if x < 0 else x, y) for x, y in coords]
    return coords


def umm_footprint(umm: Mapping[str, Any]) -> BaseGeometry | None:
    """The footprint of a UMM-G record: union of ``GPolygons`` or ``BoundingRectangles``."""
    geom = (umm.get("SpatialExtent") or {}).get("HorizontalSpatialDomain", {}).get("Geometry", {})
    parts: list[BaseGeometry] = []
    for gp in geom.get("GPolygons") or []:
        outer = _ring(gp.get("Boundary", {}).get("Points", []))
        if len(outer) < 3:
            continue
        holes = [_ring(h.get("Points", [])) for h in (gp.get("ExclusiveZone") or {}).get("Boundaries", [])]
        poly = Polygon(outer, [h for h in holes if len(h) >= 3])
        parts.append(poly if poly.is_valid else poly.buffer(0))
    for br in geom.get("BoundingRectangles") or []:
        w, e = float(br["WestBoundingCoordinate"]), float(br["EastBoundingCoordinate"])
        s, n = float(br["SouthBoundingCoordinate"]), float(br["NorthBoundingCoordinate"])
        if w > e:  # crosses the antimeridian
            parts.append(box(w, s, e + 360, n))
        else:
            parts.append(box(w, s, e, n))
    if not parts:
        return None
    return unary_union(parts)


def intersects_region(footprint: BaseGeometry | None, region: BaseGeometry) -> bool:
    """True when ``footprint`` truly intersects ``region`` (antimeridian-aware).

    A record without a footprint is kept (it cannot be proven to miss).
    """
    if footprint is None:
        return True
    if footprint.intersects(region):
        return True
    return footprint.intersects(affinity.translate(region, xoff=360.0))
