"""Fetch, step 1 — plan: search each source and turn what it found into files to produce.

PACE granules come through earthaccess/CMR, Sentinel-2 items through a STAC API. Every result
the filters reject is recorded as ``excluded`` with its reason, and every S2 asset that cannot
be fetched (missing from the item, or an href that is refused) as ``failed``, so the manifest
accounts for everything a search returned. The kept results become :class:`Job` records with
their manifest entry in the state ``planned``; :mod:`spectm.fetch.execute` carries them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from spectm.aoi import AOI
from spectm.config import EarthaccessSource, StacSource
from spectm.dates import DateRange
from spectm.fetch.catalog import pace_path, s2_path
from spectm.fetch.clip import asset_window, estimate_clip_bytes
from spectm.fetch.manifest import ManifestEntry
from spectm.fetch.pace import PaceGranule, search_pace
from spectm.fetch.safety import remote_href_problem
from spectm.fetch.stac import search_stac
from spectm.fetch.verify import stac_checksum, umm_checksum

Record = Callable[[ManifestEntry], None]


def rel_path(data_dir: Path, p: Path) -> str:
    """``p`` relative to the data directory, as every path in the manifest is."""
    return p.resolve().relative_to(Path(data_dir).resolve()).as_posix()


@dataclass
class Job:
    """One file to produce, with its manifest record template."""

    entry: ManifestEntry
    dest: Path
    url: str
    expected: int | None
    kind: str  # "pace" | "s2" | "s2clip"
    clip_window: Any = None
    checksum: str | None = None  # from the catalogue (UMM-G Checksum / STAC file:checksum), "sha256:<hex>"


@dataclass
class Query:
    """What to search for: the region, the dates and the search options of :func:`spectm.fetch.fetch`."""

    aoi: AOI
    dates: DateRange
    stac_url: str | None = None
    collection: str | None = None
    tiles: list[str] | None = None
    max_cloud_cover: float | None = None
    clip: bool = True
    max_items: int | None = None


@dataclass
class FetchPlan:
    """The files to produce, the search results they came from, and each source's search counts."""

    jobs: list[Job] = field(default_factory=list)
    pace: dict[tuple[str, str], tuple[EarthaccessSource, PaceGranule]] = field(default_factory=dict)
    s2: dict[tuple[str, str], tuple[StacSource, pystac.Item, list[str]]] = field(default_factory=dict)
    searched: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (searched, found)


def plan_fetch(
    srcs: Sequence[EarthaccessSource | StacSource], query: Query, data_dir: Path, record: Record
) -> FetchPlan:
    """Search every source in order; ``record`` receives the excluded and unfetchable results."""
    plan = FetchPlan()
    for src in srcs:
        if isinstance(src, EarthaccessSource):
            plan.searched[src.name] = _plan_pace(plan, src, query, data_dir, record)
        else:
            plan.searched[src.name] = _plan_stac(plan, src, query, data_dir, record)
    return plan


def _plan_pace(plan: FetchPlan, src: EarthaccessSource, q: Query, data_dir: Path, record: Record) -> tuple[int, int]:
    ps = search_pace(src, q.aoi, q.dates, max_items=q.max_items)
    for ex in ps.excluded:
        name = ex.file_name.removesuffix(".nc")
        record(
            ManifestEntry(
                src.name,
                src.short_name,
                name,
                "data",
                ex.url,
                None,
                "excluded",
                expected_bytes=ex.size,
                reason=ex.reason,
            )
        )
    for g in ps.granules:
        coll = (g.umm.get("CollectionReference") or {}).get("ShortName", src.short_name)
        item_id = g.file_name.removesuffix(".nc")
        dest = pace_path(data_dir, g.file_name)
        e = ManifestEntry(
            src.name, coll, item_id, "data", g.url, rel_path(data_dir, dest), "planned", expected_bytes=g.size
        )
        checksum = umm_checksum(g.umm, g.file_name)
        plan.jobs.append(Job(e, dest, g.url, g.size, "pace", checksum=checksum))
        plan.pace[(src.name, item_id)] = (src, g)
    return ps.searched, len(ps.granules)


def _plan_stac(plan: FetchPlan, src: StacSource, q: Query, data_dir: Path, record: Record) -> tuple[int, int]:
    ss = search_stac(
        src,
        q.aoi,
        q.dates,
        url=q.stac_url,
        collection=q.collection,
        tiles=q.tiles,
        max_cloud_cover=q.max_cloud_cover,
        max_items=q.max_items,
    )
    for ex in ss.excluded:
        record(ManifestEntry(src.name, ss.collection, ex.item_id, "*", None, None, "excluded", reason=ex.reason))
    for item in ss.items:
        keys = [key for key in src.assets if _plan_asset(plan, src, ss.collection, item, key, q, data_dir, record)]
        plan.s2[(src.name, item.id)] = (src, item, keys)
    return ss.searched, len(ss.items)


def _plan_asset(
    plan: FetchPlan,
    src: StacSource,
    collection: str,
    item: pystac.Item,
    key: str,
    q: Query,
    data_dir: Path,
    record: Record,
) -> bool:
    """Plan one S2 asset; False (and a ``failed`` record) when it cannot be fetched."""
    asset = item.assets.get(key)
    dest = s2_path(data_dir, item.id, key)
    rel = rel_path(data_dir, dest)
    refused = f"asset '{key}' is missing from the STAC item" if asset is None else remote_href_problem(asset.href)
    if refused is not None:
        href = asset.href if asset is not None else None
        record(ManifestEntry(src.name, collection, item.id, key, href, rel, "failed", reason=refused))
        return False
    assert asset is not None
    ad = asset.to_dict()
    if q.clip:
        win = asset_window(item.properties, ad, q.aoi.bbox)
        expected = estimate_clip_bytes(item.properties, ad, q.aoi.bbox)
        kind = "s2clip"
    else:
        win, kind = None, "s2"
        fs = ad.get("file:size")
        expected = int(fs) if fs is not None else None
    e = ManifestEntry(src.name, collection, item.id, key, asset.href, rel, "planned", expected_bytes=expected)
    checksum = None if q.clip else stac_checksum(ad)
    plan.jobs.append(Job(e, dest, asset.href, expected, kind, win, checksum=checksum))
    return True


def dry_run_entries(plan: FetchPlan, force: bool) -> list[ManifestEntry]:
    """What a dry run reports: ``skipped`` where a complete-looking file exists, else ``planned``."""
    out = []
    for job in plan.jobs:
        e = job.entry
        if (
            job.dest.exists()
            and not force
            and (job.expected is None or job.kind == "s2clip" or job.dest.stat().st_size == job.expected)
        ):
            e.status, e.reason = "skipped", "already present"
            e.bytes = job.dest.stat().st_size
        out.append(e)
    return out
