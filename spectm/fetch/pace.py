"""Searching PACE OCI granules through earthaccess (CMR), with spectm's corrections.

``earthaccess.search_data`` is called with the short name (refined *and* NRT),
version and provider pinned in ``catalogs/sources/*.yaml`` plus the region's box,
the dates and the source's granule-name pattern (docs/pace.md § Search). Its answer is
then corrected in three ways, each counted so nothing disappears silently:

1. **footprint** — granules whose UMM-G polygon does not truly intersect the region
   (its water polygon when it has one) are excluded (CMR tests the box, not the lake);
2. **NRT vs refined** — a refined and an NRT file of the same granule share every
   name token except ``.NRT``; the refined one wins and the NRT one is excluded as
   superseded (docs/pace.md § Collections and versions);
3. **duplicates** — the same file listed twice (paging overlap) is kept once.

When the pinned short name returns nothing and the source lists
``fallback_short_names`` (L3M collections were renamed in v3.2, ioos_code_lab#347),
each fallback is searched in turn.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from shapely.geometry.base import BaseGeometry

from spectm.aoi import AOI
from spectm.config import EarthaccessSource
from spectm.console import log
from spectm.dates import DateRange
from spectm.errors import BadInputError, FetchError
from spectm.fetch.footprint import intersects_region, umm_footprint
from spectm.fetch.safety import safe_name

_STAMP = re.compile(r"PACE_OCI\.(\d{8}(?:T\d{6})?(?:_\d{8})?)\.")

SearchFn = Callable[..., list[Any]]


@dataclass
class PaceGranule:
    """One granule chosen for download."""

    file_name: str
    url: str
    size: int | None
    nrt: bool
    umm: Mapping[str, Any]
    footprint: BaseGeometry | None = None

    @property
    def stamp(self) -> str:
        m = _STAMP.search(self.file_name)
        return m[1] if m else ""


@dataclass
class Excluded:
    """A search result that will not be downloaded, and why."""

    file_name: str
    url: str | None
    reason: str
    size: int | None = None


@dataclass
class PaceSearch:
    source: EarthaccessSource
    searched: int = 0
    granules: list[PaceGranule] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    short_name_used: str = ""

    @property
    def bytes(self) -> int:
        return sum(g.size or 0 for g in self.granules)


def dedupe_key(file_name: str) -> str:
    """The name shared by the refined and NRT file of one granule (``.NRT`` removed)."""
    return file_name.replace(".NRT.", ".")


def _umm_file_name(umm: Mapping[str, Any]) -> str | None:
    dg = umm.get("DataGranule") or {}
    for ident in dg.get("Identifiers") or []:
        if ident.get("IdentifierType") == "ProducerGranuleId" and ident.get("Identifier"):
            return str(ident["Identifier"])
    for info in dg.get("ArchiveAndDistributionInformation") or []:
        if info.get("Name"):
            return str(info["Name"])
    return None


def _umm_size(umm: Mapping[str, Any], name: str) -> int | None:
    infos = (umm.get("DataGranule") or {}).get("ArchiveAndDistributionInformation") or []
    for info in infos:
        if info.get("Name") == name and info.get("SizeInBytes") is not None:
            return int(info["SizeInBytes"])
    if len(infos) == 1 and infos[0].get("SizeInBytes") is not None:
        return int(infos[0]["SizeInBytes"])
    return None


def _umm_https_url(umm: Mapping[str, Any], name: str) -> str | None:
    """The HTTP(S) ``GET DATA`` link of the file (not S3 direct access, not browse images).

    HTTPS links are preferred; plain HTTP is accepted (local mirrors, test servers).
    """
    urls = [
        u
        for u in umm.get("RelatedUrls") or []
        if u.get("Type") == "GET DATA" and str(u.get("URL", "")).startswith(("https://", "http://"))
    ]
    urls.sort(key=lambda u: not str(u["URL"]).startswith("https://"))
    for u in urls:
        if str(u["URL"]).rsplit("/", 1)[-1] == name:
            return str(u["URL"])
    return str(urls[0]["URL"]) if urls else None


def _record(g: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(umm, meta) from an earthaccess DataGranule or a plain {"umm", "meta"} dict."""
    if isinstance(g, Mapping):
        return g.get("umm") or {}, g.get("meta") or {}
    return g["umm"], g["meta"]  # DataGranule is a dict subclass


def _is_nrt(umm: Mapping[str, Any], name: str, source: EarthaccessSource) -> bool:
    short = (umm.get("CollectionReference") or {}).get("ShortName", "")
    return short.endswith("_NRT") or ".NRT." in name


def search_pace(
    source: EarthaccessSource,
    aoi: AOI,
    dates: DateRange,
    *,
    max_items: int | None = None,
    search_fn: SearchFn | None = None,
) -> PaceSearch:
    """Search one PACE source and return the granules to fetch and those excluded."""
    if search_fn is None:
        import earthaccess

        search_fn = earthaccess.search_data
    region = aoi.water_or_geometry
    result = PaceSearch(source=source)
    records = _search_cmr(source, aoi, dates, max_items, search_fn, result)
    candidates: dict[str, PaceGranule] = {}
    for rec in records:
        g = _candidate(rec, source, aoi, region, result)
        if g is not None:
            _keep_one_per_stamp(candidates, g, result)
    result.granules = sorted(candidates.values(), key=lambda g: g.file_name)
    return result


def _search_cmr(
    source: EarthaccessSource,
    aoi: AOI,
    dates: DateRange,
    max_items: int | None,
    search_fn: SearchFn,
    result: PaceSearch,
) -> list[Any]:
    """The CMR records of the first short name (then each fallback) that returns any; the
    first short name is searched together with its NRT collection, a fallback with its own."""
    names = [source.short_name, *source.fallback_short_names]
    records: list[Any] = []
    for i, short in enumerate(names):
        short_names = [short] + (
            [source.nrt_short_name] if i == 0 and source.nrt_short_name else [f"{short}_NRT"] if i > 0 else []
        )
        kwargs: dict[str, Any] = {
            "short_name": short_names if len(short_names) > 1 else short_names[0],
            "version": source.version,
            "provider": source.provider,
            "bounding_box": tuple(aoi.bbox),
            "temporal": (f"{dates.start.isoformat()}T00:00:00Z", f"{dates.end.isoformat()}T23:59:59Z"),
            "count": max_items if max_items else -1,
        }
        if source.granule_name and i == 0:
            kwargs["granule_name"] = source.granule_name
        log.info("searching CMR: %s v%s @ %s", short_names, source.version, source.provider)
        try:
            with warnings.catch_warnings():
                # earthaccess 0.17 warns about its own DataGranule.size() API change
                warnings.simplefilter("ignore", FutureWarning)
                records = list(search_fn(**kwargs))
        except (requests.RequestException, RuntimeError) as exc:
            raise FetchError(
                f"CMR search for {short_names} failed: {type(exc).__name__}: {str(exc)[:200]}",
                "check the network connection to cmr.earthdata.nasa.gov and rerun (nothing was downloaded)",
            ) from None
        result.short_name_used = short
        if records:
            if i > 0:
                log.warning("source %s: %s returned nothing; using fallback %s", source.name, source.short_name, short)
            break
    result.searched = len(records)
    if not records:
        log.warning(
            "source %s: CMR returned 0 granules for %s v%s in %s %s",
            source.name,
            source.short_name,
            source.version,
            aoi.name,
            dates,
        )
    return records


def _candidate(
    rec: Any, source: EarthaccessSource, aoi: AOI, region: BaseGeometry, result: PaceSearch
) -> PaceGranule | None:
    """One CMR record as a granule to fetch, or None after recording why it is excluded."""
    umm, meta = _record(rec)
    name = _umm_file_name(umm)
    if not name:
        result.excluded.append(Excluded(str(meta.get("native-id", "?")), None, "record has no file name"))
        return None
    try:
        safe_name(name, "granule file name")
    except BadInputError as exc:
        result.excluded.append(Excluded(name, None, exc.message))
        return None
    url = _umm_https_url(umm, name)
    size = _umm_size(umm, name)
    if url is None:
        result.excluded.append(Excluded(name, None, "record has no HTTP(S) download link", size))
        return None
    fp = umm_footprint(umm)
    if not intersects_region(fp, region):
        result.excluded.append(Excluded(name, url, f"footprint does not intersect region {aoi.name}", size))
        return None
    return PaceGranule(name, url, size, _is_nrt(umm, name, source), umm, fp)


def _keep_one_per_stamp(candidates: dict[str, PaceGranule], g: PaceGranule, result: PaceSearch) -> None:
    """One granule per acquisition stamp: a refined file supersedes its NRT twin, a repeat is dropped."""
    key = dedupe_key(g.file_name)
    prev = candidates.get(key)
    if prev is None:
        candidates[key] = g
    elif prev.file_name == g.file_name:
        result.excluded.append(Excluded(g.file_name, g.url, "duplicate search result", g.size))
    elif prev.nrt and not g.nrt:
        result.excluded.append(
            Excluded(prev.file_name, prev.url, f"NRT superseded by refined {g.file_name}", prev.size)
        )
        candidates[key] = g
    else:  # prev is the refined file (or both NRT with one name, caught above): drop g
        result.excluded.append(Excluded(g.file_name, g.url, f"NRT superseded by refined {prev.file_name}", g.size))
