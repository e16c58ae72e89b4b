"""Sentinel-2 L2A DN → reflectance, per item, by the rules of its catalogue (docs/sentinel2.md § Processing baseline 04.00).

Since processing baseline 04.00 (25 Jan 2022) ESA adds 1000 to every L2A DN
(``BOA_ADD_OFFSET = -1000``). Catalogues disagree on whether that offset is still in
the file, so the rule is decided per item, by *baseline* (never by date, because
Collection-1 reprocessing gives old dates new baselines):

=========================================  =========================================
item                                        reflectance
=========================================  =========================================
``sentinel-2-c1-l2a`` (Earth Search v1 c1)  ``DN*scale + offset`` from ``raster:bands``
``*-jp2`` asset (raw ESA file)              ``DN*1e-4 - 0.1`` when PB ≥ 04.00
Earth Search ``sentinel-2-l2a``,
PB ≥ 04.00, ``boa_offset_applied`` true     ``DN*1e-4`` (the −0.1 in raster:bands is wrong)
Earth Search ``sentinel-2-l2a``,
PB ≥ 04.00, flag false or missing           *ambiguous*: dark-water check decides
Planetary Computer ``sentinel-2-l2a``       ``DN*1e-4 - 0.1`` when PB ≥ 04.00
any, PB < 04.00                             ``DN*1e-4``
=========================================  =========================================

Dark-water check: clear open-water NIR/SWIR reflectance is ≈ 0, so a median DN of
clear water pixels in ``nir08``/``swir16`` of ≥ 500 means the +1000 is still in the
data. The rule chosen is recorded per time slice (``processing_version``).
DN 0 is nodata in every case.
"""

from __future__ import annotations

from dataclasses import dataclass

import pystac

from spectm.errors import BadInputError

QUANT = 1e-4
BOA_OFFSET = -0.1
DARK_WATER_DN_THRESHOLD = 500.0

# Planetary Computer asset keys → the Earth Search keys used as the cube's band names
PC_KEYS = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
    "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09", "B11": "swir16", "B12": "swir22", "SCL": "scl",
}  # fmt: skip
WAVELENGTH_NM = {
    "coastal": 443.0, "blue": 490.0, "green": 560.0, "red": 665.0, "rededge1": 704.0, "rededge2": 740.0,
    "rededge3": 783.0, "nir": 842.0, "nir08": 865.0, "nir09": 945.0, "swir16": 1610.0, "swir22": 2190.0,
}  # fmt: skip


@dataclass(frozen=True)
class OffsetRule:
    """How to turn one item's DNs into reflectance."""

    scale: float
    offset: float
    rule: str  # short label recorded in the cube's provenance
    ambiguous: bool = False


def catalogue(item: pystac.Item) -> str:
    """``c1`` (Earth Search c1), ``es-l2a`` (Earth Search l2a) or ``pc`` (Planetary Computer)."""
    coll = item.collection_id or ""
    props = item.properties
    if coll == "sentinel-2-c1-l2a":
        return "c1"
    if coll == "sentinel-2-l2a":
        if (
            any(k.endswith("boa_offset_applied") for k in props)
            or "earthsearch:s3_path" in props
            or "red" in item.assets
        ):
            return "es-l2a"
        return "pc"
    raise BadInputError(
        f"item {item.id} is in collection {coll!r}, not a Sentinel-2 L2A collection",
        "use items from sentinel-2-c1-l2a (Earth Search) or sentinel-2-l2a",
    )


def baseline(item: pystac.Item) -> str:
    pb = item.properties.get("s2:processing_baseline")
    if pb is None:
        raise BadInputError(
            f"item {item.id} has no s2:processing_baseline",
            "the DN offset cannot be decided without it; re-fetch the item from its STAC API",
        )
    return f"{float(pb):05.2f}"


def asset_key(item: pystac.Item, band: str) -> str:
    """The item's asset key for a cube band name (PC uses B04 for red, ...)."""
    if band in item.assets:
        return band
    for pc, es in PC_KEYS.items():
        if es == band and pc in item.assets:
            return pc
    raise BadInputError(
        f"item {item.id} has no asset for band '{band}'", f"available assets: {', '.join(sorted(item.assets))}"
    )


def offset_rule(item: pystac.Item, band: str = "red") -> OffsetRule:
    """The DN → reflectance rule for one item and band (see the module table)."""
    kind = catalogue(item)
    pb = baseline(item)
    new = pb >= "04.00"
    key = asset_key(item, band)
    if kind == "c1":
        rb = (item.assets[key].extra_fields.get("raster:bands") or [{}])[0]
        if "scale" in rb or "offset" in rb:
            return OffsetRule(float(rb.get("scale", QUANT)), float(rb.get("offset", 0.0)), f"c1 raster:bands PB{pb}")
        return OffsetRule(QUANT, BOA_OFFSET if new else 0.0, f"c1 baseline PB{pb}")
    if key.endswith("-jp2"):
        return OffsetRule(QUANT, BOA_OFFSET if new else 0.0, f"jp2 PB{pb}")
    if not new:
        return OffsetRule(QUANT, 0.0, f"{kind} pre-04.00 PB{pb}")
    if kind == "pc":
        return OffsetRule(QUANT, BOA_OFFSET, f"pc baseline PB{pb}")
    flag = item.properties.get("earthsearch:boa_offset_applied", item.properties.get("sentinel:boa_offset_applied"))
    if flag is True:
        return OffsetRule(QUANT, 0.0, f"es-l2a boa_offset_applied PB{pb}")
    return OffsetRule(QUANT, BOA_OFFSET, f"es-l2a ambiguous PB{pb}", ambiguous=True)


def resolve_ambiguous(rule: OffsetRule, median_dark_water_dn: float | None) -> OffsetRule:
    """Settle an ambiguous rule with the dark-water check (None: no clear water → keep −0.1)."""
    if not rule.ambiguous:
        return rule
    if median_dark_water_dn is None:
        return OffsetRule(QUANT, BOA_OFFSET, rule.rule.replace("ambiguous", "ambiguous-unchecked"))
    if median_dark_water_dn >= DARK_WATER_DN_THRESHOLD:
        return OffsetRule(
            QUANT, BOA_OFFSET, rule.rule.replace("ambiguous", f"dark-water {median_dark_water_dn:.0f}DN offset")
        )
    return OffsetRule(QUANT, 0.0, rule.rule.replace("ambiguous", f"dark-water {median_dark_water_dn:.0f}DN no-offset"))
