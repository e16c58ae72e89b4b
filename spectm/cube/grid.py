"""The analysis grid of a region: one GeoBox per region and sensor.

Both sensors share the region's projected CRS (EPSG:32617 for Lake Erie) and the
grid origin snapped to whole multiples of the cell size, so a 1 km PACE cell is
exactly 50 × 50 Sentinel-2 20 m cells and S2 can be aggregated onto the PACE grid
by a plain block mean (no second resampling).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from odc.geo.geobox import GeoBox
from odc.geo.geom import BoundingBox
from shapely.geometry.base import BaseGeometry

from spectm.aoi import AOI
from spectm.errors import BadInputError


def region_geobox(aoi: AOI, resolution: float, snap: float | None = None) -> GeoBox:
    """The grid covering ``aoi.bbox`` in ``aoi.crs`` at ``resolution`` metres.

    The edges are snapped outwards to whole multiples of ``snap`` (default: the
    coarsest resolution of the region, i.e. the PACE cell), so every sensor's grid
    covers exactly the same extent and a PACE cell is exactly (1000/20)² S2 cells.
    """
    if not resolution or resolution <= 0:
        raise BadInputError(
            f"grid resolution must be positive, got {resolution}", "pass --resolution in metres, e.g. 1000"
        )
    step = float(snap or max([float(resolution), *[float(v) for v in aoi.resolution.values()]]))
    if abs(step / resolution - round(step / resolution)) > 1e-9:
        step = float(resolution)  # a resolution that does not divide the PACE cell snaps to itself
    bb = BoundingBox(*aoi.bbox, crs="EPSG:4326").to_crs(aoi.crs)
    snapped = BoundingBox(
        np.floor(bb.left / step) * step,
        np.floor(bb.bottom / step) * step,
        np.ceil(bb.right / step) * step,
        np.ceil(bb.top / step) * step,
        crs=aoi.crs,
    )
    gb = GeoBox.from_bbox(snapped, crs=aoi.crs, resolution=float(resolution), tight=True)
    if gb.shape[0] * gb.shape[1] > 400_000_000:
        raise BadInputError(
            f"the grid {gb.shape[1]}×{gb.shape[0]} cells at {resolution:g} m is too large",
            "use a smaller region or a coarser --resolution",
        )
    return gb


def cell_centres(gb: GeoBox) -> tuple[np.ndarray, np.ndarray]:
    """1-D x and y cell-centre coordinates (metres) of a north-up GeoBox."""
    a = gb.affine
    ny, nx = gb.shape
    x = a.c + a.a * (np.arange(nx) + 0.5)
    y = a.f + a.e * (np.arange(ny) + 0.5)
    return x, y


def water_mask(gb: GeoBox, water: BaseGeometry | None) -> np.ndarray:
    """Boolean (y, x) array: True where the cell centre is inside the water polygon.

    Without a polygon every cell counts as water (bbox or GeoJSON regions).
    """
    if water is None:
        return np.ones(gb.shape, dtype=bool)
    return _water_mask_cached(gb, water.wkb)


@lru_cache(maxsize=8)
def _water_mask_cached(gb: GeoBox, wkb: bytes) -> np.ndarray:
    import shapely
    from pyproj import Transformer
    from rasterio.features import geometry_mask

    geom = shapely.from_wkb(wkb)
    tr = Transformer.from_crs("EPSG:4326", str(gb.crs), always_xy=True)
    proj = shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    if proj.is_empty:
        return np.zeros(gb.shape, dtype=bool)
    return ~geometry_mask([proj], out_shape=gb.shape, transform=gb.affine, all_touched=False)
