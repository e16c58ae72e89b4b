"""Reading the local STAC catalog (``<data-dir>/raw/catalog``) that fetch or the twin wrote.

Items come from :func:`spectm.fetch.catalog.read_items`, the one reader of the catalog
(straight from the item files, not by walking links from the root); this module groups them
by sensor and solar day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pystac

from spectm.aoi import AOI
from spectm.cube.flags import mask_bits
from spectm.cube.pace_reader import open_l2
from spectm.dates import DateRange
from spectm.errors import BadInputError, DataNotFoundError
from spectm.fetch.catalog import S2_COLLECTIONS, read_items


@dataclass
class CatalogScan:
    """Items of one sensor grouped by day, plus what was skipped and why."""

    by_day: dict[date, list[pystac.Item]]
    skipped: dict[str, int]

    @property
    def n_items(self) -> int:
        return sum(len(v) for v in self.by_day.values())


def catalog_dir(data_dir: Path) -> Path:
    root = Path(data_dir) / "raw" / "catalog"
    if not (root / "catalog.json").is_file():
        raise DataNotFoundError(
            f"no local STAC catalog at {root}",
            "run 'spectm fetch' (real data) or 'spectm twin generate' (offline twin) first, or pass --data-dir",
        )
    return root


def solar_day(item: pystac.Item) -> date:
    """Local solar day of an item (UTC time + centre longitude / 15 h), like odc-stac's
    ``groupby="solar_day"``: S2 tiles of one pass never straddle two groups."""
    dt = item.datetime or datetime.fromisoformat(str(item.properties["start_datetime"]).rstrip("Z"))
    lon = 0.0
    if item.bbox:
        lon = (item.bbox[0] + item.bbox[2]) / 2
    return (dt.replace(tzinfo=None) + timedelta(hours=lon / 15.0)).date()


def _intersects(item: pystac.Item, aoi: AOI) -> bool:
    if not item.bbox:
        return True
    w, s, e, n = item.bbox[:4] if len(item.bbox) == 4 else (item.bbox[0], item.bbox[1], item.bbox[3], item.bbox[4])
    aw, as_, ae, an = aoi.bbox
    return not (e < aw or w > ae or n < as_ or s > an)


def scan(data_dir: Path, sensor: str, aoi: AOI, dates: DateRange) -> CatalogScan:
    """Items of ``sensor`` ("pace" or "s2") over ``aoi`` within ``dates``, grouped by day.

    PACE days are UTC calendar days of the granule start (a Lake Erie overpass is
    ~16–19 UTC, well inside one UTC day); S2 days are solar days.
    """
    root = catalog_dir(data_dir)
    by_day: dict[date, list[pystac.Item]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    for item in read_items(root):
        coll = item.collection_id or ""
        if sensor == "pace":
            if not coll.startswith("PACE_OCI"):
                continue
            if item.properties.get("pace:product", "L2_AOP") != "L2_AOP" or "L2" not in coll or "AOP" not in coll:
                skipped["not L2 AOP"] += 1
                continue
            dt = item.datetime or datetime.fromisoformat(str(item.properties["start_datetime"]).rstrip("Z"))
            day = dt.replace(tzinfo=None).date()
        else:
            if coll not in S2_COLLECTIONS:
                continue
            day = solar_day(item)
        if day not in dates:
            continue
        if not _intersects(item, aoi):
            skipped["footprint outside region"] += 1
            continue
        by_day[day].append(item)
    for v in by_day.values():
        v.sort(key=lambda it: (it.datetime or datetime.min, it.id))
    return CatalogScan(dict(sorted(by_day.items())), dict(skipped))


def overpass_time(day: date, items: list[pystac.Item]) -> np.datetime64:
    """The time coordinate of a day's slice: midpoint of its items' times (UTC, naive,
    whole seconds); noon UTC when no item carries a time."""
    times = [it.datetime.replace(tzinfo=None) for it in items if it.datetime is not None]
    mid = min(times) + (max(times) - min(times)) / 2 if times else datetime(day.year, day.month, day.day, 12)
    return np.datetime64(mid.replace(microsecond=0), "s").astype("datetime64[ns]")


def asset_path(item: pystac.Item, key: str) -> Path:
    """Absolute local path of an item's asset (hrefs are relative to the item JSON)."""
    asset = item.assets.get(key)
    if asset is None:
        raise DataNotFoundError(f"item {item.id} has no asset '{key}'", "re-run 'spectm fetch' for these dates")
    return Path(asset.get_absolute_href() or asset.href)


def check_flag_names(names: list[str], scan: CatalogScan) -> None:
    """Fail before any work when a --flags name is not in the granules' flag_meanings."""

    for items in scan.by_day.values():
        for it in items:
            try:
                g = open_l2(asset_path(it, "data"))
            except BadInputError:
                continue
            mask_bits(names, g.flag_table)
            return
