"""Areas of interest: parsing ``--bbox`` (region name, ``W,S,E,N`` or GeoJSON).

Every command takes the same ``--bbox`` forms, so parsing lives here once. The
result, :class:`AOI`, carries what later stages need: the lon/lat box, the
geometry to intersect footprints with, the projected CRS and grid resolution,
and the water polygon when the region has one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from spectm.bbox import BBOX_FORMS as _FORMS
from spectm.bbox import BBox, utm_crs_for, validate_bbox
from spectm.catalogs import get_region, region_water_path
from spectm.console import log
from spectm.errors import RegionError

__all__ = ["AOI", "BBox", "parse_bbox", "utm_crs_for", "validate_bbox"]


@dataclass
class AOI:
    """A resolved area of interest."""

    name: str
    bbox: BBox
    geometry: BaseGeometry
    crs: str
    resolution: dict[str, float] = field(default_factory=lambda: {"pace": 1000.0, "s2": 20.0})
    water: BaseGeometry | None = None
    s2_tiles: list[str] = field(default_factory=list)
    stations: str | None = None

    @property
    def water_or_geometry(self) -> BaseGeometry:
        return self.water if self.water is not None else self.geometry


MAX_GEOJSON_BYTES = 64 * 2**20
"""A GeoJSON ``--bbox`` larger than this is refused before it is parsed (a lake outline
at 10 m detail is a few MB; a bigger file is almost surely the wrong file)."""

MAX_VERTICES = 50_000
"""Above this many vertices the geometry is simplified (a few metres, see
:func:`_simplify`): every footprint test and the per-pixel water mask walk the outline."""


def _n_vertices(geom: BaseGeometry) -> int:
    from shapely import get_num_coordinates

    return int(get_num_coordinates(geom))


def _crosses_antimeridian(geom: BaseGeometry) -> bool:
    """True when an edge jumps more than 180° in longitude (a ring drawn across ±180°),
    or the shape spans more than 180° (the RFC 7946 form, cut into pieces at ±180°)."""
    import numpy as np
    from shapely import get_coordinates
    from shapely.geometry import MultiPolygon, Polygon

    w, _, e, _ = geom.bounds
    if e - w > 180:
        return True
    polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom] if isinstance(geom, Polygon) else []
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            lon = get_coordinates(ring)[:, 0]
            if lon.size > 1 and (np.abs(np.diff(lon)) > 180).any():
                return True
    return False


def _simplify(geom: BaseGeometry, path: Path) -> BaseGeometry:
    """Simplify a very detailed outline with a growing tolerance (from ~1 m) until it has at
    most :data:`MAX_VERTICES` vertices, and say so; refuse when it cannot be brought down."""
    n0 = _n_vertices(geom)
    tol = 1e-5  # degrees, ~1 m
    while _n_vertices(geom) > MAX_VERTICES and tol < 1e-2:
        geom = geom.simplify(tol, preserve_topology=True)
        tol *= 4
    n = _n_vertices(geom)
    if n > MAX_VERTICES:
        raise RegionError(
            f"GeoJSON {path} has {n0} vertices, still {n} after simplifying by up to ~250 m",
            "pass a simpler outline (e.g. ogr2ogr -simplify 0.0001)",
        )
    log.warning("GeoJSON %s: simplified from %d to %d vertices (tolerance %.0e degrees)", path, n0, n, tol / 4)
    return geom


def _from_geojson(path: Path) -> AOI:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RegionError(f"cannot read GeoJSON {path}: {exc}", "pass a valid GeoJSON file") from None
    if size > MAX_GEOJSON_BYTES:
        raise RegionError(
            f"GeoJSON {path} is {size / 2**20:.0f} MiB, more than spectm reads ({MAX_GEOJSON_BYTES // 2**20} MiB)",
            "pass a simplified outline (e.g. ogr2ogr -simplify 0.0001) or W,S,E,N",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegionError(f"cannot read GeoJSON {path}: {exc}", "pass a valid GeoJSON file") from None
    geoms = []
    try:
        if data.get("type") == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in data["features"]]
        elif data.get("type") == "Feature":
            geoms = [shape(data["geometry"])]
        else:
            geoms = [shape(data)]
    except Exception as exc:  # shapely raises several types for bad geometry
        raise RegionError(f"GeoJSON {path} has no usable geometry: {exc}", "pass a Polygon or MultiPolygon") from None
    if not geoms:
        raise RegionError(f"GeoJSON {path} has no features", "pass a Polygon or MultiPolygon")
    from shapely.ops import unary_union

    if any(_crosses_antimeridian(g) for g in geoms):
        raise RegionError(
            f"GeoJSON {path} crosses the antimeridian (±180° longitude)",
            "areas across the antimeridian are not supported; split it and run each side separately",
        )
    if sum(_n_vertices(g) for g in geoms) > MAX_VERTICES:
        geoms = [_simplify(unary_union(geoms), path)]
    geom = unary_union(geoms)
    if geom.is_empty or geom.area == 0:
        raise RegionError(f"GeoJSON {path} has an empty or zero-area geometry", "pass a Polygon or MultiPolygon")
    if _crosses_antimeridian(geom):
        raise RegionError(
            f"GeoJSON {path} spans more than 180° of longitude (it crosses the antimeridian)",
            "areas across the antimeridian are not supported; split it and run each side separately",
        )
    bbox = validate_bbox(geom.bounds)
    c = geom.centroid
    return AOI(name=path.stem, bbox=bbox, geometry=geom, crs=utm_crs_for(c.x, c.y), water=geom)


def parse_bbox(value: str | BBox | AOI, data_dir: Path | None = None) -> AOI:
    """Resolve a ``--bbox`` value: a region name, ``W,S,E,N``, or a GeoJSON file path."""
    if isinstance(value, AOI):
        return value
    if isinstance(value, tuple | list):
        b = validate_bbox(value)
        return AOI(name="bbox", bbox=b, geometry=box(*b), crs=utm_crs_for((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    text = str(value).strip()
    if not text:
        raise RegionError("--bbox is empty", _FORMS)
    if text.lower().endswith((".geojson", ".json")):
        path = Path(text)
        if not path.is_file():
            raise RegionError(f"GeoJSON file {path} does not exist", _FORMS)
        return _from_geojson(path)
    if "," in text:
        parts = text.split(",")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise RegionError(f"cannot read --bbox {text!r} as W,S,E,N numbers", _FORMS) from None
        return parse_bbox(tuple(nums), data_dir)  # type: ignore[arg-type]
    region = get_region(text, data_dir)
    water = None
    wpath = region_water_path(region)
    if wpath is not None:
        water = _from_geojson(wpath).geometry.intersection(box(*region.bbox))
    return AOI(
        name=region.name,
        bbox=region.bbox,
        geometry=box(*region.bbox),
        crs=region.crs,
        resolution=dict(region.resolution),
        water=water,
        s2_tiles=list(region.s2_tiles),
        stations=region.stations,
    )
