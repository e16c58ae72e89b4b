"""Cloud-Optimized GeoTIFFs of the predicted maps, one per date, for GIS users.

A Zarr map cube is what Python reads; QGIS, ArcGIS and web map servers read GeoTIFF. Each
date's microcystin mosaic (µg/L, float32, NaN = no prediction, declared as nodata) is
written as ``maps/<name>/<YYYY-MM-DD>.tif``: tiled, DEFLATE-compressed with the
floating-point predictor, georeferenced in the cube's CRS, and with internal overviews
(averaged, nodata-aware) down to one block, in the COG layout (GDAL's COG driver:
the IFDs and overviews precede the image data, so a client reads a zoomed-out view or one
tile with a few HTTP range requests; https://gdal.org/drivers/raster/cog.html).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from spectm.join.window import Grid
from spectm.provenance import atomic_path

BLOCK = 256


def _block(ny: int, nx: int) -> int:
    """Tile side: 256, or the smallest multiple of 16 that still gives an overview level on a
    small grid (a COG of a lake at 1 km is a few dozen cells across)."""
    side = BLOCK
    while side > 16 and max(ny, nx) <= side:
        side //= 2
    return side


def overview_factors(ny: int, nx: int, block: int) -> list[int]:
    """2, 4, 8 ... until the coarsest overview fits in one block (at least one level)."""
    out, f = [], 2
    while True:
        out.append(f)
        if max(ny, nx) / f <= block:
            return out
        f *= 2


def write_cog(path: Path, values: np.ndarray, grid: Grid, crs: str, *, tags: dict[str, str] | None = None) -> Path:
    """Write one (y, x) float32 layer as a COG at ``path`` (written to ``path.tmp``, then renamed)."""
    ny, nx = values.shape
    block = _block(ny, nx)
    profile = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": from_origin(grid.left, grid.top, grid.res, grid.res),
        "nodata": np.nan,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(values.astype(np.float32), 1)
                dst.set_band_description(1, "mc_ugL")
                dst.update_tags(**(tags or {}))
                dst.update_tags(1, units="ug L-1", long_name="predicted particulate microcystin")
                dst.build_overviews(overview_factors(ny, nx, block), Resampling.average)
                dst.update_tags(ns="rio_overview", resampling="average")
            with mem.open() as src:
                rasterio.shutil.copy(
                    src,
                    tmp,
                    driver="COG",
                    BLOCKSIZE=block,
                    COMPRESS="DEFLATE",
                    PREDICTOR="YES",
                    OVERVIEWS="FORCE_USE_EXISTING",
                )
    return path
