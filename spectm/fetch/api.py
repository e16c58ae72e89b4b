"""``spectm.fetch.fetch``: search every source, download what is missing, prove it, record it.

One call does what ``spectm fetch`` does (the CLI only parses options and renders the
result):

1. **plan** (:mod:`spectm.fetch.plan`): search each source (PACE through earthaccess/CMR,
   Sentinel-2 through a STAC API), record every result the filters reject as ``excluded``
   with its reason, and turn the kept results into files to produce under
   ``<data-dir>/raw`` (docs/data-layout.md);
2. **execute** (:mod:`spectm.fetch.execute`): PACE granules with the resumable downloader
   (logging in to Earthdata only if a file actually has to be downloaded), S2 assets either
   clipped to the region by windowed COG reads (``clip=True``) or downloaded whole; update
   ``raw/manifest.json`` as each file finishes and write the local STAC catalog
   ``raw/catalog`` for everything that is complete;
3. **summarise** (here): per-source counts, written to the manifest's run history.

Failed files never stop the other files: each is recorded with its reason in the manifest,
and only after the manifest and catalog are complete does :func:`fetch` raise a
:class:`~spectm.errors.FetchError` naming them (``raise_on_failure=True``, the default, as
``spectm fetch`` and ``spectm run`` exit non-zero then). With ``raise_on_failure=False`` it
returns the :class:`~spectm.fetch.fetch_result.FetchResult` to inspect (``res.failed``), and
:meth:`~spectm.fetch.fetch_result.FetchResult.raise_for_failures` raises later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from spectm._version import __version__
from spectm.aoi import AOI, parse_bbox
from spectm.catalogs import get_source
from spectm.config import EarthaccessSource, StacSource
from spectm.contract import status_of
from spectm.dates import DateRange, parse_dates
from spectm.errors import BadInputError
from spectm.fetch.catalog import raw_dir
from spectm.fetch.download import DownloadOptions
from spectm.fetch.execute import SessionFactory, execute, write_catalog
from spectm.fetch.fetch_result import FetchResult, SourceSummary
from spectm.fetch.manifest import MANIFEST_NAME, Manifest, ManifestEntry, utc_now
from spectm.fetch.plan import FetchPlan, Query, dry_run_entries, plan_fetch
from spectm.fetch.stac import normalise_tiles
from spectm.lock import store_lock

DEFAULT_SOURCES = ("pace_oci_l2_aop", "s2_earth_search")


_FETCH_BUSY = (
    "another spectm fetch (PID {pid} on {host}, since {started}) is writing {path}",
    "wait for it to finish; if that process is dead on another host, delete {lock}",
)


def fetch_lock(data_dir: Path) -> AbstractContextManager[Path]:
    """Hold ``<data-dir>/raw.lock`` while a fetch writes ``raw/`` (the cube's store lock, reused).

    Two fetches into one data directory would race on the same ``.partial`` files, the
    manifest and the catalog swap; the second one is refused instead.
    """
    return store_lock(raw_dir(data_dir), busy=_FETCH_BUSY)


def resolve_sources(names: Sequence[str] | None, data_dir: Path) -> list[EarthaccessSource | StacSource]:
    names = list(names) if names else list(DEFAULT_SOURCES)
    if not names:
        raise BadInputError("no sources selected", "pass --source NAME (see 'spectm catalogs sources')")
    return [get_source(n, data_dir) for n in dict.fromkeys(names)]


def fetch(
    aoi: AOI | str,
    dates: DateRange | str,
    *,
    data_dir: Path | str,
    sources: Sequence[str] | None = None,
    stac_url: str | None = None,
    collection: str | None = None,
    tiles: Sequence[str] | None = None,
    max_cloud_cover: float | None = None,
    threads: int = 4,
    clip: bool = True,
    dry_run: bool = False,
    force: bool = False,
    timeout: float = 60.0,
    retries: int = 5,
    max_items: int | None = None,
    earthdata_session: SessionFactory | None = None,
    stac_session: SessionFactory | None = None,
    raise_on_failure: bool = True,
) -> FetchResult:
    """Fetch PACE OCI and Sentinel-2 data for a region and dates into ``<data_dir>/raw``.

    Args:
        aoi: region (name, ``W,S,E,N``, GeoJSON path or :class:`~spectm.aoi.AOI`).
        dates: inclusive date range (``2024-06:2024-10`` or a :class:`DateRange`).
        data_dir: the spectm data directory.
        sources: catalogs/sources names (default: ``pace_oci_l2_aop``, ``s2_earth_search``).
        stac_url, collection: override the STAC API URL / collection of STAC sources.
        tiles: MGRS tiles to keep (default: the region's ``s2_tiles``; all when it has none).
        max_cloud_cover: drop S2 scenes above this cloud cover (%); PACE is never filtered
            by cloud cover (L3M has none, earthaccess#991; L2 clouds are masked per pixel).
        threads: parallel transfers. clip: clip S2 COGs to the region (windowed reads).
        dry_run: search and report counts and bytes; download nothing, write no catalog.
        force: download again even when a complete file exists.
        timeout: per-request read timeout in seconds (connect timeout: min(10, timeout)).
        retries: retries per file on timeouts, resets, short bodies and 5xx.
        max_items: cap on search results per source (tests, quick looks).
        earthdata_session: factory of authenticated sessions (default: Earthdata login
            from the environment or ~/.netrc, only when a PACE file must be downloaded).
        stac_session: factory of sessions for S2 asset downloads (default: plain).
        raise_on_failure: raise :class:`~spectm.errors.FetchError` when any file failed, after
            recording every file (so a rerun resumes); ``False`` returns the result with the
            failures in ``res.failed`` and status ``done``.

    Returns:
        :class:`~spectm.fetch.fetch_result.FetchResult`, a stage result: ``done`` when files were
        downloaded or failed, and for a dry run (its summary says nothing was downloaded);
        ``skipped`` when every file found was already complete.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    aoi = parse_bbox(aoi, data_dir) if not isinstance(aoi, AOI) else aoi
    dates = parse_dates(dates)
    _check_options(threads, timeout, retries, max_cloud_cover, max_items)
    srcs = resolve_sources(sources, data_dir)
    opts = DownloadOptions(
        threads=threads, connect_timeout=min(10.0, timeout), read_timeout=timeout, retries=retries, force=force
    )
    tiles = normalise_tiles(list(tiles)) if tiles else (list(aoi.s2_tiles) or None)
    query = Query(aoi, dates, stac_url, collection, tiles, max_cloud_cover, clip, max_items)

    with fetch_lock(data_dir):
        manifest = Manifest(
            raw_dir(data_dir) / MANIFEST_NAME,
            region={"name": aoi.name, "bbox": list(aoi.bbox)},
            dates={"start": dates.start.isoformat(), "end": dates.end.isoformat()},
        )
        recorder = _Recorder(manifest, dry_run)
        plan = plan_fetch(srcs, query, data_dir, recorder)
        sources = _search_counts(manifest, plan, srcs, dry_run)
        catalog_path = None
        if dry_run:
            for e in dry_run_entries(plan, force):
                recorder(e)
        else:
            manifest.add_run(
                {
                    "started": utc_now(),
                    "spectm_version": __version__,
                    "region": aoi.name,
                    "dates": str(dates),
                    "sources": [s.name for s in srcs],
                    "clip": clip,
                    "force": force,
                }
            )
            execute(plan, opts, data_dir, aoi, recorder, earthdata_session, stac_session)
            catalog_path = write_catalog(plan, recorder.entries, data_dir)
        entries = sorted(recorder.entries.values(), key=lambda e: e.key)
        seconds = _summarise(sources, entries, manifest, dry_run, t0)
    changed = dry_run or any(s.downloaded or s.failed for s in sources.values())
    result = FetchResult(
        status=status_of(changed),
        data_dir=data_dir,
        manifest_path=manifest.path,
        catalog_path=catalog_path,
        dry_run=dry_run,
        region=aoi.name,
        dates=str(dates),
        clip=clip,
        sources=sources,
        entries=entries,
        seconds=seconds,
    )
    if raise_on_failure:
        result.raise_for_failures()
    return result


def _check_options(
    threads: int, timeout: float, retries: int, max_cloud_cover: float | None, max_items: int | None
) -> None:
    if threads < 1 or threads > 64:
        raise BadInputError(f"--threads {threads} is out of range", "use 1 to 64 parallel transfers")
    if timeout <= 0:
        raise BadInputError(f"--timeout {timeout} must be positive", "pass seconds, e.g. --timeout 60")
    if retries < 0:
        raise BadInputError(f"--retries {retries} must be >= 0", "pass e.g. --retries 5")
    if max_cloud_cover is not None and not 0 <= max_cloud_cover <= 100:
        raise BadInputError(f"--max-cloud-cover {max_cloud_cover} is not a percentage", "pass 0 to 100")
    if max_items is not None and max_items < 1:
        raise BadInputError(f"--max-items {max_items} must be >= 1", "omit it to fetch everything")


class _Recorder:
    """Collects this run's manifest records (thread-safe); a real run also writes them to the manifest."""

    def __init__(self, manifest: Manifest, dry_run: bool) -> None:
        self.entries: dict[tuple[str, str, str], ManifestEntry] = {}
        self._manifest = manifest
        self._dry_run = dry_run
        self._lock = threading.Lock()

    def __call__(self, e: ManifestEntry) -> None:
        with self._lock:
            self.entries[e.key] = e
        if not self._dry_run:
            self._manifest.record(e)


def _search_counts(
    manifest: Manifest, plan: FetchPlan, srcs: Sequence[EarthaccessSource | StacSource], dry_run: bool
) -> dict[str, SourceSummary]:
    sources: dict[str, SourceSummary] = {}
    for src in srcs:
        searched, found = plan.searched[src.name]
        sources[src.name] = SourceSummary(src.name, src.kind, searched=searched, found=found)
        if not dry_run:
            manifest.set_search_counts(src.name, searched, found)
    return sources


def _summarise(
    sources: dict[str, SourceSummary], entries: list[ManifestEntry], manifest: Manifest, dry_run: bool, t0: float
) -> float:
    """Step 3: per-source counts from this run's records, written to the manifest's run history;
    returns the seconds the fetch took."""
    for e in entries:
        s = sources.get(e.source)
        if s is None:
            continue
        setattr(s, e.status, getattr(s, e.status) + 1)
        if e.status in ("downloaded", "skipped"):
            s.bytes += e.bytes
        if e.status == "planned":
            s.bytes += e.expected_bytes or 0
    seconds = time.perf_counter() - t0
    if not dry_run:
        counts = {
            name: {
                k: getattr(s, k) for k in ("searched", "found", "excluded", "downloaded", "skipped", "failed", "bytes")
            }
            for name, s in sources.items()
        }
        manifest.finish_run({"finished": utc_now(), "seconds": round(seconds, 2), "counts": counts})
    else:
        # A dry run records "planned" only where the manifest knows nothing better.
        known = {e.key: e for e in manifest.entries()}
        fresh = [e for e in entries if e.status == "planned" and known.get(e.key) is None]
        if fresh:
            manifest.record_many(fresh)
    return seconds
