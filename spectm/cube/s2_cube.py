"""Sentinel-2 time slices: the items of one solar day → one lazily computed slice.

Each item is loaded on its own with ``odc.stac.load`` onto the region GeoBox (SCL
with nearest, everything else bilinear), because the DN offset rule is per item
(:mod:`spectm.cube.s2_offsets`) while odc-stac's ``groupby="solar_day"`` would
mosaic items of different rules before we could apply them. Items of one day are
then combined: per cell and band the mean of the clear observations (overlapping
tiles of one pass see the same ground at the same minute); ``valid_count`` counts
the items with a clear, in-water observation.

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
from spectm.errors import BadInputError

DEFAULT_BANDS = ("coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22")
DEFAULT_MASK_CLASSES = (0, 1, 3, 8, 9, 10, 11)
S2_CHUNK_YX = 256  # inner chunk (1, bands, 256, 256): 2.9 MB float32; dask chunk 1024²

S2_VAR_ATTRS = {
    "reflectance": {"long_name": "Surface reflectance (BOA)", "units": "1",
                    "comment": "Sentinel-2 L2A, DN offset harmonised per item, SCL- and water-masked"},
    "valid_count": {"long_name": "Number of items with a clear in-water observation", "units": "1"},
    "clear_fraction": {"long_name": "Fraction of water cells that are clear in this slice", "units": "1"},
    "wavelength": {"long_name": "Band centre wavelength", "units": "nm"},
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


def load_item(item: pystac.Item, bands: list[str], gb: GeoBox, chunk: int) -> xr.Dataset:
    """Raw DNs of one item on the GeoBox (lazy); variables named by cube band names + ``scl``."""
    import odc.stac

    keys = [asset_key(item, b) for b in bands] + [asset_key(item, "scl")]
    it = _absolute(item)
    cfg = {it.collection_id: {"assets": {"*": {"data_type": "uint16", "nodata": 0},
                                         keys[-1]: {"data_type": "uint8", "nodata": 0}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = odc.stac.load(
            [it], bands=keys, geobox=gb, chunks={"x": chunk, "y": chunk}, groupby="solar_day",
            resampling={"*": "bilinear", keys[-1]: "nearest"}, fail_on_error=False, stac_cfg=cfg,
        )
    ds = ds.rename({k: b for k, b in zip(keys, [*bands, "scl"], strict=True) if k != b})
    return ds.isel(time=0, drop=True)


def dark_water_median(dn: xr.DataArray, clear_water: np.ndarray) -> float | None:
    v = np.asarray(dn.values)[clear_water]
    v = v[v > 0]
    return float(np.median(v)) if v.size >= 20 else None


def item_reflectance(
    ds: xr.Dataset, rule: OffsetRule, bands: list[str], water: np.ndarray, mask_classes: tuple[int, ...]
) -> tuple[xr.DataArray, xr.DataArray, OffsetRule]:
    """(reflectance (band, y, x) NaN where masked, clear (y, x) bool, the rule applied)."""
    scl = ds["scl"]
    clear = ~scl.isin(list(mask_classes)) & (scl != 0) & xr.DataArray(water, dims=("y", "x"))
    if rule.ambiguous:
        probe = "nir08" if "nir08" in ds else ("swir16" if "swir16" in ds else bands[-1])
        rule = resolve_ambiguous(rule, dark_water_median(ds[probe], np.asarray(clear.values) & np.asarray((scl == 6).values)))
    refl = []
    for b in bands:
        dn = ds[b]
        r = (dn.astype(np.float32) * np.float32(rule.scale) + np.float32(rule.offset)).where((dn != 0) & clear)
        refl.append(r)
    return xr.concat(refl, dim="band").assign_coords(band=bands), clear, rule


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

    def template(self, days: list[date], by_day: dict) -> xr.Dataset:
        from spectm.cube.build import finish_template

        ny, nx = self.gb.shape
        nb, nt = len(self.bands), len(days)
        t = np.array([overpass_time(d, by_day[d]) for d in days])
        ds = xr.Dataset(
            {
                "reflectance": (("time", "band", "y", "x"), da.zeros((nt, nb, ny, nx), dtype=np.float32, chunks=(1, nb, ny, nx))),
                "valid_count": (("time", "y", "x"), da.zeros((nt, ny, nx), dtype=np.uint8, chunks=(1, ny, nx))),
                "clear_fraction": (("time",), da.zeros((nt,), dtype=np.float32, chunks=1)),
            },
            coords=grid_coords(self.gb) | {"time": t, "band": np.array(self.bands, dtype=object),
                                           "wavelength": ("band", [WAVELENGTH_NM[b] for b in self.bands])},
        )
        return finish_template(ds, self.aoi, S2_VAR_ATTRS)

    def encoding(self) -> dict:
        from spectm.cube.build import TIME_ENCODING

        ny, nx = self.gb.shape
        cy, cx = min(S2_CHUNK_YX, ny), min(S2_CHUNK_YX, nx)
        return {
            "reflectance": {"chunks": (1, len(self.bands), cy, cx), "dtype": "float32"},
            "valid_count": {"chunks": (1, cy, cx), "dtype": "uint8"},
        } | TIME_ENCODING

    def slice(self, day: date, items: list[pystac.Item]) -> tuple[xr.Dataset, list[str]]:
        refls, clears, rules, ids = [], [], [], []
        for item in items:
            keys = [asset_key(item, b) for b in [*self.bands, "scl"]]
            reason = check_assets(item, keys)
            if reason is None:
                try:
                    rule = offset_rule(item, self.bands[0])
                    ds = load_item(item, self.bands, self.gb, self.chunk)
                    r, c, rule = item_reflectance(ds, rule, self.bands, self.water, self.mask_classes)
                except BadInputError as exc:
                    reason = str(exc)
            if reason is not None:
                log.warning("s2 %s: skipping item %s: %s", day, item.id, reason)
                self.out.items_failed[item.id] = reason  # type: ignore[attr-defined]
                continue
            refls.append(r)
            clears.append(c)
            rules.append(f"{item.id}:{rule.rule}")
            ids.append(item.id)
        ny, nx = self.gb.shape
        if refls:
            stack = xr.concat(refls, dim="item")
            n = stack.notnull().sum("item")
            refl = (stack.fillna(0).sum("item") / n.where(n > 0)).astype(np.float32)
            count = xr.concat(clears, dim="item").sum("item").astype(np.uint8)
        else:
            refl = xr.DataArray(da.full((len(self.bands), ny, nx), np.nan, dtype=np.float32), dims=("band", "y", "x"))
            count = xr.DataArray(da.zeros((ny, nx), dtype=np.uint8), dims=("y", "x"))
        nwater = max(int(self.water.sum()), 1)
        clear_frac = ((count > 0).sum() / nwater).astype(np.float32)
        ds = xr.Dataset(
            {
                "reflectance": (("time", "band", "y", "x"), refl.transpose("band", "y", "x").data[None]),
                "valid_count": (("time", "y", "x"), count.data[None]),
                "clear_fraction": (("time",), clear_frac.data[None]),
            },
            coords=grid_coords(self.gb) | {"time": [overpass_time(day, items)], "band": np.array(self.bands, dtype=object)},
        )
        ds["processing_version"] = ("time", np.array([";".join(rules) or "no readable item"], dtype=object))
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
        raise BadInputError(f"cannot aggregate {step:g} m cells to {resolution:g} m", "use a whole multiple of the S2 cell size")
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
