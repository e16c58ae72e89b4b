"""Sentinel-2 L2A scenes: clipped COGs on the real MGRS tiles and Earth Search-shaped items.

* **Tiles.** MGRS 100 km squares in the region's UTM zone (default: the region's
  ``s2_tiles``). The origin of a tile is 40 m west of its square's western 100 km line
  and at the square's northern edge; it spans 109.8 km (docs/sentinel2.md § Lake Erie tiles and CRS). Row letters
  follow the MGRS scheme (odd zones start at A, even at F; 20 letters without I/O;
  the 2000 km ambiguity is resolved by the region's latitude).
* **Clipping.** Like ``fetch --clip``, each file covers the tile ∩ the region box,
  snapped to the tile's 60 m grid. ``proj:shape``/``proj:transform`` describe the file.
* **Resolutions.** 10/20/60 m classes keep the native ratios 1:2:6 at a base
  resolution ``s2_resolution_m`` (default 60 m, i.e. 60/120/360 m) to meet the
  demo's time and size budget; pass 10 for native resolution.
* **Values.** uint16 DN with the baseline ≥ 04.00 convention DN = (ρ + 0.1)·10000
  (0 = nodata), ρ = π·Rrs over water (forward model on the physics grid, sampled
  bilinearly, plus noise SD 0.001 and a smooth atmospheric residual SD 0.002),
  a textured vegetation/soil mix over land, bright clouds and darkened shadows.
* **SCL** (uint8, 20 m class): 6 water, 4 vegetation, 5 bare, 3 cloud shadow,
  8/9 cloud medium/high probability, 10 thin cirrus (cloud edges), consistent with
  the reflectance written. As in reality, SCL is not the lake mask.
* **Revisit.** A scene every ``revisit_days`` (default 5, the S2A+S2B revisit) at
  ~16:30 UTC, alternating S2A/S2B; clouds are the same field as PACE's that day,
  moved 5 km east (earlier in the day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from scipy.ndimage import map_coordinates, shift
from shapely.geometry import box, mapping

from spectm.provenance import atomic_path
from spectm.twin import observe
from spectm.twin.fields import FieldModel, Grid
from spectm.twin.grf import gaussian_random_field
from spectm.twin.launch import as_if_flown
from spectm.twin.optics import S2_BANDS, ModelParams, band_rrs, s2_bandset
from spectm.twin.sun import solar_position

ASSETS: dict[str, tuple[str, int]] = {  # key -> (file stem, resolution class 10/20/60)
    "coastal": ("B01", 60),
    "blue": ("B02", 10),
    "green": ("B03", 10),
    "red": ("B04", 10),
    "rededge1": ("B05", 20),
    "rededge2": ("B06", 20),
    "rededge3": ("B07", 20),
    "nir": ("B08", 10),
    "nir08": ("B8A", 20),
    "swir16": ("B11", 20),
    "swir22": ("B12", 20),
    "scl": ("SCL", 20),
}
TITLES = {
    "coastal": "Coastal",
    "blue": "Blue",
    "green": "Green",
    "red": "Red",
    "rededge1": "Red Edge 1",
    "rededge2": "Red Edge 2",
    "rededge3": "Red Edge 3",
    "nir": "NIR 1",
    "nir08": "NIR 2",
    "swir16": "SWIR 1.6μm",
    "swir22": "SWIR 2.2μm",
}
LAND_VEG = {
    "coastal": 0.035,
    "blue": 0.045,
    "green": 0.08,
    "red": 0.05,
    "rededge1": 0.12,
    "rededge2": 0.28,
    "rededge3": 0.33,
    "nir": 0.35,
    "nir08": 0.36,
    "swir16": 0.22,
    "swir22": 0.11,
}
LAND_SOIL = {
    "coastal": 0.08,
    "blue": 0.10,
    "green": 0.14,
    "red": 0.18,
    "rededge1": 0.20,
    "rededge2": 0.22,
    "rededge3": 0.24,
    "nir": 0.26,
    "nir08": 0.27,
    "swir16": 0.33,
    "swir22": 0.28,
}
COL_SETS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
ROWS = "ABCDEFGHJKLMNPQRSTUV"
TILE_M = 109_800
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


@dataclass
class Tile:
    code: str  # e.g. 17TLG
    zone: int
    band: str
    square: str
    x0: float  # west edge (m)
    y1: float  # north edge (m)

    @property
    def epsg(self) -> int:
        return 32600 + self.zone

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y1 - TILE_M, self.x0 + TILE_M, self.y1)


def parse_tile(code: str, ref_lat: float) -> Tile:
    """Geometry of an MGRS tile like ``17TLG`` (northern hemisphere)."""
    zone, band, col, row = int(code[:2]), code[2], code[3], code[4]
    cols = COL_SETS[(zone - 1) % 3]
    e100 = cols.index(col) + 1
    offset = 0 if zone % 2 == 1 else 5
    r = (ROWS.index(row) - offset) % 20
    approx_n = ref_lat * 110_950.0  # metres north of the equator, good to ~1 km here
    cycle = round((approx_n / 100_000 - r) / 20)
    n100 = cycle * 20 + r
    return Tile(code, zone, band, col + row, e100 * 100_000 - 40.0, (n100 + 1) * 100_000.0)


@dataclass
class Scene:
    """One simulated S2 acquisition of one tile (what the catalog needs)."""

    item_id: str
    tile: Tile
    when: datetime
    platform: str
    files: dict[str, Path] = field(default_factory=dict)
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)
    transforms: dict[str, list[float]] = field(default_factory=dict)
    footprint: dict[str, Any] = field(default_factory=dict)
    bbox: list[float] = field(default_factory=list)
    cloud_cover: float = 0.0
    percentages: dict[str, float] = field(default_factory=dict)
    sun_elevation: float = 0.0
    sun_azimuth: float = 0.0


def scene_dates(start: date, end: date, revisit_days: int, seed: int) -> list[date]:
    """Acquisition days: every ``revisit_days`` from a seed-dependent phase."""
    phase = int(np.random.default_rng([seed, 606]).integers(0, revisit_days))
    out, d = [], start + timedelta(days=phase)
    while d <= end:
        out.append(d)
        d += timedelta(days=revisit_days)
    return out


def shp_transform(fn: Any, geom: Any) -> Any:
    """Apply a pyproj ``transform(x, y)`` to every coordinate of a shapely geometry."""
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def _clip_window(tile: Tile, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{tile.epsg}", always_xy=True)
    region = shp_transform(to_utm.transform, box(*bbox).segmentize(0.01))
    inter = region.intersection(box(*tile.bounds))
    if inter.is_empty:
        return None
    x0, y0, x1, y1 = inter.bounds
    g = 360.0  # snap to the coarsest class at the default base (and to 60 m at native)
    sx0 = tile.x0 + np.floor((x0 - tile.x0) / g) * g
    sx1 = tile.x0 + np.ceil((x1 - tile.x0) / g) * g
    sy1 = tile.y1 - np.floor((tile.y1 - y1) / g) * g
    sy0 = tile.y1 - np.ceil((tile.y1 - y0) / g) * g
    tb = tile.bounds
    return (max(sx0, tb[0]), max(sy0, tb[1]), min(sx1, tb[2]), min(sy1, tb[3]))


def _lonlat_grid(epsg: int, x0: float, y1: float, res: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre lon/lat, transformed on a coarse lattice and interpolated (UTM is smooth)."""
    ny, nx = shape
    step = 16
    cy = np.arange(0, ny + step, step, dtype=float)
    cx = np.arange(0, nx + step, step, dtype=float)
    xx, yy = np.meshgrid(x0 + (cx + 0.5) * res, y1 - (cy + 0.5) * res)
    lon_c, lat_c = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True).transform(xx, yy)
    iy, ix = np.meshgrid(np.arange(ny) / step, np.arange(nx) / step, indexing="ij")
    lon = map_coordinates(lon_c, [iy, ix], order=1, mode="nearest")
    lat = map_coordinates(lat_c, [iy, ix], order=1, mode="nearest")
    return lon, lat


def _write_cog(path: Path, data: np.ndarray, transform: Affine, epsg: int, note: str | None = None) -> None:
    profile = {
        "driver": "COG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": 0,
        "compress": "DEFLATE",
        "predictor": 2,
        "level": 1,
        "blocksize": 256,
        "overview_resampling": "nearest" if data.dtype == np.uint8 else "average",
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
        if note:
            dst.update_tags(SPECTM_AS_IF_FLOWN=note)


@dataclass
class DayInputs:
    """Physics-grid arrays shared by every tile of one acquisition day."""

    clouds: observe.CloudField
    rho_grid: np.ndarray  # (n_grid_cells, n_s2_bands) water reflectance rho = pi * Rrs
    texture: np.ndarray  # land texture (static: seeded by the seed only), SD 1
    atm: np.ndarray  # smooth atmospheric residual in reflectance, SD 0.002


def day_inputs(
    day: date, fields: FieldModel, grid: Grid, seed: int, model: ModelParams, water: Any = None
) -> DayInputs:
    """Clouds, water reflectance, land texture and atmospheric residual on the physics grid.

    With ``water`` (lon/lat polygon), the forward model runs only on cells within two cells
    of water (the only ones bilinear sampling of water pixels can reach); others hold 0.
    """
    logs = fields.log10_on(day)
    flat = {v: 10.0 ** logs[v].ravel() for v in logs}
    n_cells = flat["chl"].size
    if water is not None:
        glon, glat = np.meshgrid(grid.lon, grid.lat)
        sel = observe.dilate(shapely.contains_xy(water, glon, glat), 2).ravel()
    else:
        sel = np.ones(n_cells, dtype=bool)
    rho = np.zeros((n_cells, len(s2_bandset().names)), dtype=np.float32)
    rho[sel] = np.pi * band_rrs(
        s2_bandset(), flat["chl"][sel], flat["pc"][sel], flat["ag400"][sel], flat["tss"][sel], model
    )
    km = grid.km_per_px()
    texture = gaussian_random_field(grid.shape, max(1.0, 1.5 / km), np.random.default_rng([seed, 609]))
    atm = 0.002 * gaussian_random_field(grid.shape, 20.0 / km, np.random.default_rng([seed, 610, day.toordinal()]))
    return DayInputs(observe.CloudField(grid, day, seed), rho, texture, atm)


def simulate_scene(
    tile: Tile,
    day: date,
    *,
    index: int,
    fields: FieldModel,
    grid: Grid,
    water_lonlat: Any,
    bbox: tuple[float, float, float, float],
    seed: int,
    base_res: float,
    out_root: Path,
    model: ModelParams,
    inputs: DayInputs | None = None,
) -> Scene | None:
    """Simulate and write the 12 assets of one tile on one day; None if the tile misses the region.

    ``inputs`` (from :func:`day_inputs`) are shared by all tiles of a day; computed if None.
    """
    win = _clip_window(tile, bbox)
    if win is None:
        return None
    platform = "sentinel-2a" if index % 2 == 0 else "sentinel-2b"
    rng_t = np.random.default_rng([seed, 607, day.toordinal()])
    when = datetime(day.year, day.month, day.day, 16, 25, tzinfo=UTC) + timedelta(seconds=int(rng_t.integers(0, 600)))
    item_id = f"S2{platform[-1].upper()}_T{tile.code}_{when.strftime('%Y%m%dT%H%M%S')}_L2A"
    scene = Scene(item_id, tile, when, platform)
    out_dir = out_root / item_id
    out_dir.mkdir(parents=True, exist_ok=True)
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{tile.epsg}", always_xy=True)
    water_utm = shp_transform(to_utm.transform, water_lonlat)
    if inputs is None:
        inputs = day_inputs(day, fields, grid, seed, model)
    clouds, rho_grid = inputs.clouds, inputs.rho_grid
    band_names = s2_bandset().names
    x0, y0, x1, y1 = win
    c_lon = c_lat = None
    sza_saz = None
    stats: dict[str, float] = {}
    for res_class in (10, 20, 60):
        res = base_res * res_class / 10
        shape = (round((y1 - y0) / res), round((x1 - x0) / res))
        transform = Affine(res, 0, x0, 0, -res, y1)
        lon, lat = _lonlat_grid(tile.epsg, x0, y1, res, shape)
        if c_lon is None:
            c_lon, c_lat = float(lon.mean()), float(lat.mean())
            zen, az = solar_position(c_lat, c_lon, when)
            sza_saz = (float(zen), float(az))
        is_water = rasterize(
            [(mapping(water_utm), 1)], out_shape=shape, transform=transform, fill=0, dtype="uint8"
        ).astype(bool)
        opt = clouds.optical(lon, lat, shift_km=5.0)
        cloud = opt > 0
        # shadows: the cloud mask moved away from the sun by 1.5 km
        az_r = np.radians(sza_saz[1])
        d_px = 1500.0 / res
        shadow = shift(cloud.astype(np.uint8), (d_px * np.cos(az_r), -d_px * np.sin(az_r)), order=0) > 0
        shadow &= ~cloud
        rng = np.random.default_rng(
            [seed, 608, day.toordinal(), tile.zone, ord(tile.square[0]), ord(tile.square[1]), res_class]
        )
        texture = grid.sample(inputs.texture, lon, lat)
        soil = np.clip(0.3 + 0.25 * texture, 0, 1)
        atm = grid.sample(inputs.atm, lon, lat)
        keys = [k for k, (_, rc) in ASSETS.items() if rc == res_class and k != "scl"]
        for key in keys:
            bi = band_names.index(key)
            wr = grid.sample(rho_grid[:, bi].reshape(grid.shape), lon, lat)
            wr = wr + atm + rng.normal(0, 0.001, shape)
            lr = (1 - soil) * LAND_VEG[key] + soil * LAND_SOIL[key] + 0.01 * texture
            rho = np.where(is_water, wr, lr)
            cloud_rho = 0.45 + 0.25 * np.clip(opt, 0, 1) - (0.05 if key.startswith("swir") else 0.0)
            rho = np.where(cloud, np.maximum(rho, cloud_rho), rho)
            rho = np.where(shadow, rho * 0.4, rho)
            dn = np.clip(np.round((rho + 0.1) * 10000), 1, 65535).astype(np.uint16)
            path = out_dir / f"{key}.tif"  # <asset key>.tif, as fetch writes (docs/data-layout.md)
            _write_cog(path, dn, transform, tile.epsg, as_if_flown(platform, day))
            scene.files[key], scene.shapes[key] = path, shape
            scene.transforms[key] = [res, 0.0, x0, 0.0, -res, y1]
        if res_class == 20:
            scl = np.where(is_water, 6, np.where(soil > 0.45, 5, 4)).astype(np.uint8)
            scl[shadow] = 3
            scl[cloud] = 8
            scl[cloud & (opt > 0.6)] = 9
            edge = cloud & (opt < 0.08)
            scl[edge] = 10
            path = out_dir / "scl.tif"
            _write_cog(path, scl, transform, tile.epsg, as_if_flown(platform, day))
            scene.files["scl"], scene.shapes["scl"] = path, shape
            scene.transforms["scl"] = [res, 0.0, x0, 0.0, -res, y1]
            n = scl.size
            stats = {
                "s2:nodata_pixel_percentage": 0.0,
                "s2:saturated_defective_pixel_percentage": 0.0,
                "s2:dark_features_percentage": 0.0,
                "s2:cloud_shadow_percentage": 100 * np.count_nonzero(scl == 3) / n,
                "s2:vegetation_percentage": 100 * np.count_nonzero(scl == 4) / n,
                "s2:not_vegetated_percentage": 100 * np.count_nonzero(scl == 5) / n,
                "s2:water_percentage": 100 * np.count_nonzero(scl == 6) / n,
                "s2:unclassified_percentage": 0.0,
                "s2:medium_proba_clouds_percentage": 100 * np.count_nonzero(scl == 8) / n,
                "s2:high_proba_clouds_percentage": 100 * np.count_nonzero(scl == 9) / n,
                "s2:thin_cirrus_percentage": 100 * np.count_nonzero(scl == 10) / n,
                "s2:snow_ice_percentage": 0.0,
            }
    scene.percentages = {k: round(float(v), 6) for k, v in stats.items()}
    scene.cloud_cover = round(
        stats["s2:medium_proba_clouds_percentage"]
        + stats["s2:high_proba_clouds_percentage"]
        + stats["s2:thin_cirrus_percentage"],
        6,
    )
    to_ll = Transformer.from_crs(f"EPSG:{tile.epsg}", "EPSG:4326", always_xy=True)
    fp = shp_transform(to_ll.transform, box(x0, y0, x1, y1).segmentize(5000))
    scene.footprint = mapping(fp)
    scene.bbox = [round(v, 6) for v in fp.bounds]
    assert sza_saz is not None
    scene.sun_elevation = 90.0 - sza_saz[0]
    scene.sun_azimuth = sza_saz[1]
    return scene


def s2_band_meta(key: str) -> dict[str, Any]:
    name, centre, fwhm = S2_BANDS[key]
    return {
        "name": name,
        "common_name": "rededge" if key.startswith("rededge") else key.replace("08", ""),
        "center_wavelength": centre / 1000,
        "full_width_half_max": fwhm / 1000,
    }
