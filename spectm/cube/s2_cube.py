"""Sentinel-2 time slices: the items of one solar day → one lazily computed slice.

Each item is loaded on its own with ``odc.stac.load`` onto the region GeoBox (SCL
with nearest, everything else bilinear), because the DN offset rule is per item
(:mod:`spectm.cube.s2_offsets`) while odc-stac's ``groupby="solar_day"`` would
mosaic items of different rules before we could apply them. Items of one day are
then combined: per cell and band the mean of the clear observations (overlapping
tiles of one pass see the same ground at the same minute); ``valid_count`` counts
the items with a clear, in-water observation. One dask task reads and combines one
block of one day (:func:`read_day_block`), which bounds a slice's memory.

Masked: SCL classes {0 no data, 1 saturated, 3 cloud shadow, 8/9 cloud, 10 cirrus,
11 snow/ice} by default, DN 0 (nodata), and every cell outside the region's water
polygon (the lake is never defined by SCL == 6, DOMAIN.md §3.5).
"""

from __future__ import annotations

import warnings
from datetime import date

import dask.array as da
import numpy as np
import pystac
import rasterio
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox

from spectm.aoi import AOI
from spectm.console import log
from spectm.cube.catalog import CatalogScan, asset_path, overpass_time
from spectm.cube.grid import water_mask
from spectm.cube.pace_cube import grid_coords
from spectm.cube.s2_offsets import (
    WAVELENGTH_NM,
    OffsetRule,
    asset_key,
    offset_rule,
    resolve_ambiguous,
)
from spectm.cube.template import TIME_ENCODING, finish_template
from spectm.errors import BadInputError

DEFAULT_BANDS = (
    "coastal",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir08",
    "swir16",
    "swir22",
)
DEFAULT_MASK_CLASSES = (0, 1, 3, 8, 9, 10, 11)
S2_CHUNK_YX = 256  # inner chunk (1, bands, 256, 256): 2.9 MB float32; dask chunk 1024²

S2_VAR_ATTRS = {
    # CF standard name of BOA reflectance (directional, as an L2A product is): a user's tools
    # find the variable by name; counts are the CF standard name number_of_observations
    "reflectance": {
        "long_name": "Surface reflectance (BOA)",
        "units": "1",
        "standard_name": "surface_bidirectional_reflectance",
        "coverage_content_type": "physicalMeasurement",
        "comment": "Sentinel-2 L2A, DN offset harmonised per item, SCL- and water-masked",
    },
    "valid_count": {
        "long_name": "Number of items with a clear in-water observation",
        "units": "1",
        "standard_name": "number_of_observations",
        "coverage_content_type": "auxiliaryInformation",
    },
    "clear_fraction": {
        "long_name": "Fraction of water cells that are clear in this slice",
        "units": "1",
        "coverage_content_type": "qualityInformation",
    },
    "wavelength": {"long_name": "Band centre wavelength", "units": "nm", "standard_name": "radiation_wavelength"},
    "band": {"long_name": "Sentinel-2 band (STAC eo:bands common name / asset key)"},
}


def _absolute(item: pystac.Item) -> pystac.Item:
    it = item.clone()
    for key, a in it.assets.items():
        a.href = str(asset_path(item, key))
    return it


def check_assets(item: pystac.Item, keys: list[str]) -> str | None:
    """Open each asset header; return a reason when one is missing or unreadable (odc-stac's
    ``fail_on_error=False`` would skip it with only a log line, odc-stac#101)."""
    for k in keys:
        p = asset_path(item, k)
        try:
            with rasterio.open(p) as src:
                src.profile  # noqa: B018
        except (rasterio.errors.RasterioIOError, OSError) as exc:
            return f"asset {k} ({p.name}) unreadable: {exc}"
    return None


def load_item(item: pystac.Item, bands: list[str], gb: GeoBox, chunk: int | None) -> xr.Dataset:
    """Raw DNs of one item on the GeoBox (lazy with ``chunk``, in memory without); variables
    named by cube band names + ``scl``."""
    import odc.stac

    keys = [asset_key(item, b) for b in bands] + [asset_key(item, "scl")]
    it = _absolute(item)
    cfg = {
        it.collection_id: {
            "assets": {"*": {"data_type": "uint16", "nodata": 0}, keys[-1]: {"data_type": "uint8", "nodata": 0}}
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = odc.stac.load(
            [it],
            bands=keys,
            geobox=gb,
            chunks=None if chunk is None else {"x": chunk, "y": chunk},
            groupby="solar_day",
            resampling={"*": "bilinear", keys[-1]: "nearest"},
            fail_on_error=False,
            stac_cfg=cfg,
        )
    ds = ds.rename({k: b for k, b in zip(keys, [*bands, "scl"], strict=True) if k != b})
    return ds.isel(time=0, drop=True)


def dark_water_median(dn: xr.DataArray, clear_water: np.ndarray) -> float | None:
    v = np.asarray(dn.values)[clear_water]
    v = v[v > 0]
    return float(np.median(v)) if v.size >= 20 else None


def resolve_rule(
    ds: xr.Dataset, rule: OffsetRule, bands: list[str], water: np.ndarray, mask_classes: tuple[int, ...]
) -> OffsetRule:
    """Settle an ambiguous offset rule with the dark-water check on this item (reads its SCL and
    one NIR/SWIR band eagerly; unambiguous rules are returned unchanged without any read)."""
    if not rule.ambiguous:
        return rule
    scl = np.asarray(ds["scl"].values)
    clear_water = ~np.isin(scl, list(mask_classes)) & (scl != 0) & water & (scl == 6)
    probe = "nir08" if "nir08" in ds else ("swir16" if "swir16" in ds else bands[-1])
    return resolve_ambiguous(rule, dark_water_median(ds[probe], clear_water))


class DayAccumulator:
    """Per-block running sums of one day: the items are added one at a time, so a block never
    holds more than one item's DNs next to the sums."""

    def __init__(self, n_bands: int, water: np.ndarray, mask_classes: tuple[int, ...]) -> None:
        self.water, self.mask_classes = water, mask_classes
        # sums and count share the output array: the result is computed in place, no copy
        self.out = np.zeros((n_bands + 1, *water.shape), dtype=np.float32)
        self.total, self.count = self.out[:n_bands], self.out[n_bands]
        self.n = np.zeros((n_bands, *water.shape), dtype=np.uint8)

    def add(self, dns: list[np.ndarray], scl: np.ndarray, scale: float, offset: float) -> None:
        """One item: reflectance = DN × scale + offset where DN ≠ 0 and the cell is clear water."""
        clear = ~np.isin(scl, self.mask_classes) & (scl != 0) & self.water
        self.count += clear
        for b, dn in enumerate(dns):
            ok = (dn != 0) & clear
            self.total[b][ok] += dn[ok].astype(np.float32) * np.float32(scale) + np.float32(offset)
            self.n[b] += ok

    def result(self) -> np.ndarray:
        """(bands + 1, y, x) float32: per-band mean (NaN where no item is clear), then the count
        of items with a clear in-water observation."""
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(self.total, self.n, out=self.total)
        # no clear item: 0 / 0 gave the CPU's default NaN (sign bit set on x86); write the
        # canonical NaN so stores are byte-identical across code paths (and compress alike)
        self.total[self.n == 0] = np.nan
        return self.out


def read_day_block(
    *,
    items: tuple[pystac.Item, ...],
    rules: tuple[tuple[float, float], ...],
    bands: tuple[str, ...],
    gb: GeoBox,
    water_wkb: bytes | None,
    mask_classes: tuple[int, ...],
    block_info: dict | None = None,
) -> np.ndarray:
    """One dask task = one block of one day: each item read with ``odc.stac.load`` onto the
    block's part of the grid, in memory, and added to the sums before the next is read.

    Why reads live inside the task: with one dask task per band chunk, the scheduler decides
    how many reads run ahead of the reduction, so a slice's peak memory depended on
    scheduling and grew with the number of slices built (the worst slice so far). Here a
    task holds one item's DNs plus the sums, ~2 threads × that is the bound, and the graph
    has one task per block instead of thousands per slice. The water mask travels as the
    polygon (a few hundred bytes) and is rasterised once per worker process (cached).
    """
    (_, (y0, y1), (x0, x1)) = block_info[None]["array-location"]  # type: ignore[index]
    if water_wkb is None:  # no polygon: every cell is water
        water = np.ones((y1 - y0, x1 - x0), dtype=bool)
    else:
        water = water_mask(gb, shapely.from_wkb(water_wkb))[y0:y1, x0:x1]
    acc = DayAccumulator(len(bands), water, mask_classes)
    sub = gb[y0:y1, x0:x1]
    for item, (scale, offset) in zip(items, rules, strict=True):
        ds = load_item(item, list(bands), sub, None)
        acc.add([ds[b].values for b in bands], ds["scl"].values, scale, offset)
        del ds
    return acc.result()


class S2Builder:
    """Template, encoding and lazy slices of the S2 cube (used by :mod:`spectm.cube.build`)."""

    def __init__(self, aoi: AOI, gb: GeoBox, settings: dict, scan: CatalogScan, chunk: int | None, out: object) -> None:
        self.aoi, self.gb, self.out = aoi, gb, out
        self.bands = list(settings["bands"])
        bad = [b for b in self.bands if b not in WAVELENGTH_NM]
        if bad:
            raise BadInputError(f"unknown Sentinel-2 band(s) {bad}", f"use asset keys: {', '.join(WAVELENGTH_NM)}")
        self.mask_classes = tuple(settings["mask_classes"])
        self.chunk = int(chunk or 1024)
        self.water = water_mask(gb, aoi.water)
        self.water_wkb = aoi.water.wkb if aoi.water is not None else None

    def template(self, days: list[date], by_day: dict) -> xr.Dataset:
        ny, nx = self.gb.shape
        nb, nt = len(self.bands), len(days)
        t = np.array([overpass_time(d, by_day[d]) for d in days])
        ds = xr.Dataset(
            {
                "reflectance": (
                    ("time", "band", "y", "x"),
                    da.zeros((nt, nb, ny, nx), dtype=np.float32, chunks=(1, nb, ny, nx)),
                ),
                "valid_count": (("time", "y", "x"), da.zeros((nt, ny, nx), dtype=np.uint8, chunks=(1, ny, nx))),
                "clear_fraction": (("time",), da.zeros((nt,), dtype=np.float32, chunks=1)),
            },
            coords=grid_coords(self.gb)
            | {
                "time": t,
                "band": np.array(self.bands, dtype=object),
                "wavelength": ("band", [WAVELENGTH_NM[b] for b in self.bands]),
            },
        )
        return finish_template(ds, self.aoi, S2_VAR_ATTRS)

    def encoding(self) -> dict:
        ny, nx = self.gb.shape
        cy, cx = min(S2_CHUNK_YX, ny), min(S2_CHUNK_YX, nx)
        return {
            "reflectance": {"chunks": (1, len(self.bands), cy, cx), "dtype": "float32"},
            "valid_count": {"chunks": (1, cy, cx), "dtype": "uint8"},
        } | TIME_ENCODING

    def slice(self, day: date, items: list[pystac.Item]) -> tuple[xr.Dataset, list[str]]:
        readable, rules, labels, ids = [], [], [], []
        for item in items:
            keys = [asset_key(item, b) for b in [*self.bands, "scl"]]
            reason = check_assets(item, keys)
            if reason is None:
                try:
                    rule = offset_rule(item, self.bands[0])
                    if rule.ambiguous:  # the dark-water check reads SCL and one band of the item
                        rule = resolve_rule(
                            load_item(item, self.bands, self.gb, self.chunk),
                            rule,
                            self.bands,
                            self.water,
                            self.mask_classes,
                        )
                except BadInputError as exc:
                    reason = str(exc)
            if reason is not None:
                log.warning("s2 %s: skipping item %s: %s", day, item.id, reason)
                self.out.items_failed[item.id] = reason  # type: ignore[attr-defined]
                continue
            readable.append(_absolute(item))
            rules.append((rule.scale, rule.offset))
            labels.append(f"{item.id}:{rule.rule}")
            ids.append(item.id)
        ny, nx = self.gb.shape
        nb = len(self.bands)
        if readable:
            chunks = ((nb + 1,), *(tuple(min(self.chunk, n - i) for i in range(0, n, self.chunk)) for n in (ny, nx)))
            both = da.map_blocks(
                read_day_block,
                chunks=chunks,
                dtype=np.float32,
                meta=np.empty((0, 0, 0), dtype=np.float32),
                items=tuple(readable),
                rules=tuple(rules),
                bands=tuple(self.bands),
                gb=self.gb,
                water_wkb=self.water_wkb,
                mask_classes=self.mask_classes,
            )
            refl, count = both[:nb], both[nb].astype(np.uint8)
        else:
            refl = da.full((nb, ny, nx), np.nan, dtype=np.float32)
            count = da.zeros((ny, nx), dtype=np.uint8)
        nwater = max(int(self.water.sum()), 1)
        clear_frac = ((count > 0).sum() / nwater).astype(np.float32)
        ds = xr.Dataset(
            {
                "reflectance": (("time", "band", "y", "x"), refl[None]),
                "valid_count": (("time", "y", "x"), count[None]),
                "clear_fraction": (("time",), clear_frac[None]),
            },
            coords=grid_coords(self.gb)
            | {"time": [overpass_time(day, items)], "band": np.array(self.bands, dtype=object)},
        )
        ds["processing_version"] = ("time", np.array([";".join(labels) or "no readable item"], dtype=object))
        return ds, ids


def aggregate(ds: xr.Dataset, resolution: float) -> xr.Dataset:
    """Aggregate an S2 cube onto a coarser nested grid (e.g. the 1 km PACE grid) for fusion.

    Block mean of the valid reflectance and the fraction of clear cells per block;
    lazy (xarray ``coarsen``). The grids nest because both are snapped to whole
    multiples of their cell size (:func:`spectm.cube.grid.region_geobox`).
    """
    step = float(abs(ds.x[1] - ds.x[0]))
    factor = resolution / step
    if factor < 1 or abs(factor - round(factor)) > 1e-6:
        raise BadInputError(
            f"cannot aggregate {step:g} m cells to {resolution:g} m", "use a whole multiple of the S2 cell size"
        )
    f = round(factor)
    x0 = float(ds.x[0]) - step / 2
    y0 = float(ds.y[0]) + step / 2
    ox = round(float(np.ceil(x0 / resolution) * resolution - x0) / step) % f
    oy = round(float(y0 - np.floor(y0 / resolution) * resolution) / step) % f
    sub = ds.isel(x=slice(ox, None), y=slice(oy, None))
    coarse = sub[["reflectance"]].coarsen(x=f, y=f, boundary="trim").mean()
    clear = (sub["valid_count"] > 0).coarsen(x=f, y=f, boundary="trim").mean()
    out = coarse.assign(clear_fraction_cell=clear.astype(np.float32))
    out.attrs = dict(ds.attrs, aggregated_from_m=step, resolution_m=resolution)
    return out
