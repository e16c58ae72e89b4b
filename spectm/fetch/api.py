"""``spectm.fetch.fetch``: search every source, download what is missing, prove it, record it.

One call does what ``spectm fetch`` does (the CLI only parses options and renders the
result):

1. search each source (PACE through earthaccess/CMR, Sentinel-2 through a STAC API)
   and record every result the filters reject as ``excluded`` with its reason;
2. turn the kept results into files under ``<data-dir>/raw`` (docs/data-layout.md):
   PACE granules with the resumable downloader (logging in to Earthdata only if a
   file actually has to be downloaded), S2 assets either clipped to the region by
   windowed COG reads (``clip=True``) or downloaded whole;
3. update ``raw/manifest.json`` as each file finishes and write the local STAC
   catalog ``raw/catalog`` for everything that is complete.

Failures never raise out of :func:`fetch` (except bad input and auth): they are
recorded, and :meth:`FetchResult.raise_for_failures` turns them into a
:class:`~spectm.errors.FetchError` for callers that want a non-zero exit.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac
import requests

from spectm._version import __version__
from spectm.aoi import AOI, parse_bbox
from spectm.catalogs import get_source
from spectm.config import EarthaccessSource, StacSource
from spectm.console import log, progress
from spectm.dates import DateRange, parse_dates
from spectm.errors import BadInputError, FetchError, LockedError
from spectm.fetch import auth as _auth
from spectm.fetch.catalog import (
    pace_item_from_umm,
    pace_path,
    raw_dir,
    s2_local_item,
    s2_path,
    write_local_catalog,
)
from spectm.fetch.clip import ClipOutcome, asset_window, clip_asset, estimate_clip_bytes
from spectm.fetch.download import DownloadOptions, DownloadOutcome, DownloadTask, download_all
from spectm.fetch.manifest import MANIFEST_NAME, Manifest, ManifestEntry, utc_now
from spectm.fetch.pace import PaceGranule, search_pace
from spectm.fetch.safety import remote_href_problem
from spectm.fetch.stac import normalise_tiles, search_stac
from spectm.fetch.verify import (
    checksum_problem,
    netcdf_problem,
    stac_checksum,
    to_multihash,
    umm_checksum,
)
from spectm.lock import lock_path, store_lock

DEFAULT_SOURCES = ("pace_oci_l2_aop", "s2_earth_search")
SessionFactory = Callable[[], requests.Session]


@dataclass
class SourceSummary:
    source: str
    kind: str
    searched: int = 0
    found: int = 0
    excluded: int = 0
    planned: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0


@dataclass
class FetchResult:
    """What one fetch did; ``entries`` are this run's manifest records."""

    data_dir: Path
    manifest_path: Path
    catalog_path: Path | None
    dry_run: bool
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    entries: list[ManifestEntry] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> None:
        """Raise :class:`FetchError` when any file failed (the CLI's non-zero exit)."""
        if self.failed:
            first = self.failed[0]
            raise FetchError(
                f"{len(self.failed)} file(s) failed, e.g. {first.id}/{first.asset}: {first.reason}",
                f"see {self.manifest_path} for every failure and its reason; rerun to resume "
                "(completed files are skipped), or pass --continue-on-error to exit 0",
            )


def _rel(data_dir: Path, p: Path) -> str:
    return p.resolve().relative_to(Path(data_dir).resolve()).as_posix()


@dataclass
class _Job:
    """One file to produce, with its manifest record template."""

    entry: ManifestEntry
    dest: Path
    url: str
    expected: int | None
    kind: str  # "pace" | "s2" | "s2clip"
    item_key: tuple[str, str]  # (source, item id)
    clip_window: Any = None
    checksum: str | None = None  # from the catalogue (UMM-G Checksum / STAC file:checksum), "sha256:<hex>"


@dataclass
class _Plan:
    jobs: list[_Job] = field(default_factory=list)
    pace: dict[tuple[str, str], tuple[EarthaccessSource, PaceGranule]] = field(default_factory=dict)
    s2: dict[tuple[str, str], tuple[StacSource, pystac.Item, list[str]]] = field(default_factory=dict)


@contextmanager
def fetch_lock(data_dir: Path) -> Iterator[Path]:
    """Hold ``<data-dir>/raw.lock`` while a fetch writes ``raw/`` (the cube's store lock, reused).

    Two fetches into one data directory would race on the same ``.partial`` files, the
    manifest and the catalog swap; the second one is refused instead.
    """
    raw = raw_dir(data_dir)
    try:
        with store_lock(raw) as p:
            yield p
    except LockedError as exc:
        try:
            owner = json.loads(lock_path(raw).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            owner = {}
        raise LockedError(
            f"another spectm fetch (PID {owner.get('pid')} on {owner.get('host')}, since {owner.get('started')}) "
            f"is writing {raw}",
            f"wait for it to finish; if that process is dead on another host, delete {lock_path(raw)}",
        ) from exc


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
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    aoi = parse_bbox(aoi, data_dir) if not isinstance(aoi, AOI) else aoi
    dates = parse_dates(dates)
    if threads < 1 or threads > 64:
        raise BadInputError(f"--threads {threads} is out of range", "use 1 to 64 parallel transfers")
    if timeout <= 0:
        raise BadInputError(f"--timeout {timeout} must be positive", "pass seconds, e.g. --timeout 60")
    if retries < 0:
        raise BadInputError(f"--retries {retries} must be >= 0", "pass e.g. --retries 5")
    if max_cloud_cover is not None and not 0 <= max_cloud_cover <= 100:
        raise BadInputError(f"--max-cloud-cover {max_cloud_cover} is not a percentage", "pass 0 to 100")
    srcs = resolve_sources(sources, data_dir)
    opts = DownloadOptions(
        threads=threads, connect_timeout=min(10.0, timeout), read_timeout=timeout, retries=retries, force=force
    )
    tile_list = normalise_tiles(list(tiles)) if tiles else (list(aoi.s2_tiles) or None)

    with fetch_lock(data_dir):
        manifest = Manifest(
            raw_dir(data_dir) / MANIFEST_NAME,
            region={"name": aoi.name, "bbox": list(aoi.bbox)},
            dates={"start": dates.start.isoformat(), "end": dates.end.isoformat()},
        )
        result = FetchResult(data_dir, manifest.path, None, dry_run)
        run_entries: dict[tuple[str, str, str], ManifestEntry] = {}
        lock = threading.Lock()

        def record(e: ManifestEntry) -> None:
            with lock:
                run_entries[e.key] = e
            if dry_run:
                return
            manifest.record(e)

        plan = _Plan()
        for src in srcs:
            summ = SourceSummary(src.name, src.kind)
            result.sources[src.name] = summ
            if isinstance(src, EarthaccessSource):
                ps = search_pace(src, aoi, dates, max_items=max_items)
                summ.searched, summ.found = ps.searched, len(ps.granules)
                for ex in ps.excluded:
                    record(
                        ManifestEntry(
                            src.name,
                            src.short_name,
                            ex.file_name.removesuffix(".nc"),
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
                        src.name, coll, item_id, "data", g.url, _rel(data_dir, dest), "planned", expected_bytes=g.size
                    )
                    plan.jobs.append(
                        _Job(
                            e,
                            dest,
                            g.url,
                            g.size,
                            "pace",
                            (src.name, item_id),
                            checksum=umm_checksum(g.umm, g.file_name),
                        )
                    )
                    plan.pace[(src.name, item_id)] = (src, g)
            else:
                ss = search_stac(
                    src,
                    aoi,
                    dates,
                    url=stac_url,
                    collection=collection,
                    tiles=tile_list,
                    max_cloud_cover=max_cloud_cover,
                    max_items=max_items,
                )
                summ.searched, summ.found = ss.searched, len(ss.items)
                for ex in ss.excluded:
                    record(
                        ManifestEntry(
                            src.name, ss.collection, ex.item_id, "*", None, None, "excluded", reason=ex.reason
                        )
                    )
                for item in ss.items:
                    keys = []
                    for key in src.assets:
                        asset = item.assets.get(key)
                        dest = s2_path(data_dir, item.id, key)
                        if asset is None:
                            record(
                                ManifestEntry(
                                    src.name,
                                    ss.collection,
                                    item.id,
                                    key,
                                    None,
                                    _rel(data_dir, dest),
                                    "failed",
                                    reason=f"asset '{key}' is missing from the STAC item",
                                )
                            )
                            continue
                        refused = remote_href_problem(asset.href)
                        if refused is not None:
                            record(
                                ManifestEntry(
                                    src.name,
                                    ss.collection,
                                    item.id,
                                    key,
                                    asset.href,
                                    _rel(data_dir, dest),
                                    "failed",
                                    reason=refused,
                                )
                            )
                            continue
                        keys.append(key)
                        ad = asset.to_dict()
                        if clip:
                            win = asset_window(item.properties, ad, aoi.bbox)
                            expected = estimate_clip_bytes(item.properties, ad, aoi.bbox)
                            kind = "s2clip"
                        else:
                            win, kind = None, "s2"
                            fs = ad.get("file:size")
                            expected = int(fs) if fs is not None else None
                        e = ManifestEntry(
                            src.name,
                            ss.collection,
                            item.id,
                            key,
                            asset.href,
                            _rel(data_dir, dest),
                            "planned",
                            expected_bytes=expected,
                        )
                        plan.jobs.append(
                            _Job(
                                e,
                                dest,
                                asset.href,
                                expected,
                                kind,
                                (src.name, item.id),
                                win,
                                checksum=None if clip else stac_checksum(ad),
                            )
                        )
                    plan.s2[(src.name, item.id)] = (src, item, keys)
            if not dry_run:
                manifest.set_search_counts(src.name, summ.searched, summ.found)

        if dry_run:
            for job in plan.jobs:
                e = job.entry
                if (
                    job.dest.exists()
                    and not force
                    and (job.expected is None or job.kind == "s2clip" or job.dest.stat().st_size == job.expected)
                ):
                    e.status, e.reason = "skipped", "already present"
                    e.bytes = job.dest.stat().st_size
                record(e)
            _finish(result, run_entries, manifest, plan, data_dir, dry_run, t0)
            return result

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
        _execute(plan, opts, data_dir, aoi, record, earthdata_session, stac_session)
        result.catalog_path = _write_catalog(plan, run_entries, data_dir)
        _finish(result, run_entries, manifest, plan, data_dir, dry_run, t0)
        return result


def is_netcdf(path: Path) -> bool:
    """Cheap open-test: the file starts with the HDF5 (NetCDF-4) or classic NetCDF signature."""
    return netcdf_problem(path) is None


def _entry_from(job: _Job, o: DownloadOutcome | ClipOutcome, data_dir: Path) -> ManifestEntry:
    e = job.entry
    q = getattr(o, "quarantine", None)
    reason = o.reason if o.status == "failed" else None
    if q is not None and reason:
        reason = reason.replace(str(q), _rel(data_dir, q))  # data-dir relative, as every path in the manifest
    return ManifestEntry(
        e.source,
        e.collection,
        e.id,
        e.asset,
        job.url,
        e.path,
        o.status,  # type: ignore[arg-type]
        bytes=o.bytes,
        expected_bytes=(
            o.expected_bytes if isinstance(o, DownloadOutcome) else (o.bytes if o.status != "failed" else job.expected)
        ),
        size_check=o.size_check,  # type: ignore[arg-type]
        reason=reason,
        attempts=o.attempts,
        seconds=o.seconds,
        checksum=getattr(o, "checksum", None),
        quarantine=_rel(data_dir, q) if q is not None else None,
    )


def _execute(
    plan: _Plan,
    opts: DownloadOptions,
    data_dir: Path,
    aoi: AOI,
    record: Callable[[ManifestEntry], None],
    earthdata_session: SessionFactory | None,
    stac_session: SessionFactory | None,
) -> None:
    total = sum(j.expected or 0 for j in plan.jobs)
    with progress("bytes") as bar:
        task_id = bar.add_task(f"fetch {len(plan.jobs)} files", total=total or None)
        on_bytes = lambda n: bar.advance(task_id, n)  # noqa: E731

        def done(o: DownloadOutcome) -> None:
            job: _Job = o.task.key  # type: ignore[assignment]
            e = _entry_from(job, o, data_dir)
            e.bytes = o.bytes
            record(e)

        def task(j: _Job) -> DownloadTask:
            rel = Path(j.entry.path or j.dest.name)  # data-dir relative: raw/pace/x.nc, raw/s2/<id>/red.tif
            return DownloadTask(
                j.url,
                j.dest,
                j.expected,
                key=j,
                checksum=j.checksum,
                validate=netcdf_problem if j.kind == "pace" else None,
                quarantine=raw_dir(data_dir) / "quarantine" / Path(*rel.parts[1:]),
            )

        pace_jobs = [j for j in plan.jobs if j.kind == "pace"]
        pending = []
        for j in pace_jobs:
            # Complete files need no login: verify by size first, so an offline rerun works.
            if (
                not opts.force
                and j.expected is not None
                and j.dest.exists()
                and j.dest.stat().st_size == j.expected
                and (j.checksum is None or checksum_problem(j.dest, j.checksum) is None)
            ):
                record(
                    ManifestEntry(
                        j.entry.source,
                        j.entry.collection,
                        j.entry.id,
                        j.entry.asset,
                        j.url,
                        j.entry.path,
                        "skipped",
                        bytes=j.expected,
                        expected_bytes=j.expected,
                        size_check="ok",
                        checksum=j.checksum,
                    )
                )
                bar.advance(task_id, j.expected)
            else:
                pending.append(j)
        if pending:
            factory = earthdata_session or _auth.earthdata_session_factory()
            tasks = [task(j) for j in pending]
            rep = download_all(tasks, factory, opts, on_done=done, on_bytes=on_bytes)
            refused = [o.task for o in rep.outcomes if o.status == "failed" and o.http_status == 401]
            if refused and earthdata_session is None:
                # EDL tokens expire (~60 days; earthaccess#848): log in again once and retry those files.
                log.warning(
                    "Earthdata refused %d download(s) (HTTP 401): logging in again and retrying once", len(refused)
                )
                download_all(refused, _auth.earthdata_session_factory(), opts, on_done=done, on_bytes=on_bytes)

        s2_jobs = [j for j in plan.jobs if j.kind == "s2"]
        if s2_jobs:
            tasks = [task(j) for j in s2_jobs]
            download_all(tasks, stac_session or requests.Session, opts, on_done=done, on_bytes=on_bytes)

        clip_jobs = [j for j in plan.jobs if j.kind == "s2clip"]
        if clip_jobs:

            def run_clip(j: _Job) -> None:
                try:
                    o = clip_asset(j.url, j.dest, aoi.bbox, opts, expected=j.clip_window)
                except Exception as exc:  # report, never lose a job
                    o = ClipOutcome(status="failed", reason=f"internal error: {type(exc).__name__}: {exc}")
                record(_entry_from(j, o, data_dir))
                bar.advance(task_id, j.expected or 0)

            with ThreadPoolExecutor(max_workers=opts.threads, thread_name_prefix="spectm-clip") as pool:
                for fut in as_completed([pool.submit(run_clip, j) for j in clip_jobs]):
                    fut.result()


def _write_catalog(plan: _Plan, entries: dict[tuple[str, str, str], ManifestEntry], data_dir: Path) -> Path | None:
    complete = {k for k, e in entries.items() if e.status in ("downloaded", "skipped")}
    items: list[pystac.Item] = []
    titles: dict[str, str] = {}
    for (src_name, item_id), (src, g) in plan.pace.items():
        if (src_name, item_id, "data") not in complete:
            continue
        dest = pace_path(data_dir, g.file_name)
        verified = entries[(src_name, item_id, "data")].checksum
        it = pace_item_from_umm(
            data_dir,
            g.umm,
            file_name=g.file_name,
            product=src.product,
            source=src.name,
            nrt=g.nrt,
            file_size=dest.stat().st_size,
            checksum=to_multihash(verified) if verified else None,
        )
        items.append(it)
        titles[it.collection_id or ""] = src.title or src.short_name
    for (src_name, item_id), (src, item, keys) in plan.s2.items():
        if not keys or any((src_name, item_id, k) not in complete for k in src.assets):
            if keys:
                log.warning("S2 item %s is incomplete; it is left out of the local catalog", item_id)
            continue
        files = {k: s2_path(data_dir, item_id, k) for k in keys}
        hrefs = {k: item.assets[k].href for k in keys}
        sums = {k: to_multihash(c) for k in keys if (c := entries[(src_name, item_id, k)].checksum)}
        it = s2_local_item(data_dir, item, files, source=src.name, source_hrefs=hrefs, checksums=sums)
        items.append(it)
        titles[it.collection_id or ""] = src.title or src.collection
    if not items and not (raw_dir(data_dir) / "catalog" / "catalog.json").exists():
        return None
    return write_local_catalog(data_dir, items, collection_titles=titles)


def _finish(
    result: FetchResult,
    run_entries: dict[tuple[str, str, str], ManifestEntry],
    manifest: Manifest,
    plan: _Plan,
    data_dir: Path,
    dry_run: bool,
    t0: float,
) -> None:
    result.entries = sorted(run_entries.values(), key=lambda e: e.key)
    for e in result.entries:
        s = result.sources.get(e.source)
        if s is None:
            continue
        setattr(s, e.status, getattr(s, e.status) + 1)
        if e.status in ("downloaded", "skipped"):
            s.bytes += e.bytes
        if e.status == "planned":
            s.bytes += e.expected_bytes or 0
    result.seconds = time.perf_counter() - t0
    if not dry_run:
        counts = {
            name: {
                k: getattr(s, k) for k in ("searched", "found", "excluded", "downloaded", "skipped", "failed", "bytes")
            }
            for name, s in result.sources.items()
        }
        manifest.finish_run({"finished": utc_now(), "seconds": round(result.seconds, 2), "counts": counts})
    else:
        # A dry run records "planned" only where the manifest knows nothing better.
        known = {e.key: e for e in manifest.entries()}
        fresh = [e for e in result.entries if e.status == "planned" and known.get(e.key) is None]
        if fresh:
            manifest.record_many(fresh)
