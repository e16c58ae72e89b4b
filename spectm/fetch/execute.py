"""Fetch, step 2 — execute: produce the planned files and write the local STAC catalog.

PACE granules go through the resumable downloader, logging in to Earthdata only when a file
actually has to be downloaded (a complete file, checked by size and checksum, is skipped
without a login, so an offline rerun works). S2 assets are either downloaded whole or clipped
to the region by windowed COG reads. Every outcome becomes one manifest record; then the
complete items are written to ``raw/catalog``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pystac
import requests

from spectm.aoi import AOI
from spectm.console import log, progress
from spectm.fetch import auth as _auth
from spectm.fetch.catalog import (
    catalog_dir,
    pace_item_from_umm,
    pace_path,
    raw_dir,
    s2_local_item,
    s2_path,
    write_local_catalog,
)
from spectm.fetch.clip import ClipOutcome, clip_asset
from spectm.fetch.download import DownloadOptions, DownloadOutcome, DownloadTask, download_all
from spectm.fetch.manifest import ManifestEntry
from spectm.fetch.plan import FetchPlan, Job, Record, rel_path
from spectm.fetch.verify import checksum_problem, netcdf_problem, to_multihash

SessionFactory = Callable[[], requests.Session]


def entry_from(job: Job, o: DownloadOutcome | ClipOutcome, data_dir: Path) -> ManifestEntry:
    """The manifest record of one finished job."""
    e = job.entry
    q = getattr(o, "quarantine", None)
    reason = o.reason if o.status == "failed" else None
    if q is not None and reason:
        reason = reason.replace(str(q), rel_path(data_dir, q))  # data-dir relative, as every path in the manifest
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
        quarantine=rel_path(data_dir, q) if q is not None else None,
    )


@dataclass
class _Run:
    """What every part of one execution shares: options, where to record, how to show progress."""

    opts: DownloadOptions
    data_dir: Path
    record: Record
    advance: Callable[[int], None]

    def done(self, o: DownloadOutcome) -> None:
        job: Job = o.task.key  # type: ignore[assignment]
        self.record(entry_from(job, o, self.data_dir))

    def task(self, j: Job) -> DownloadTask:
        rel = Path(j.entry.path or j.dest.name)  # data-dir relative: raw/pace/x.nc, raw/s2/<id>/red.tif
        return DownloadTask(
            j.url,
            j.dest,
            j.expected,
            key=j,
            checksum=j.checksum,
            validate=netcdf_problem if j.kind == "pace" else None,
            quarantine=raw_dir(self.data_dir) / "quarantine" / Path(*rel.parts[1:]),
        )


def execute(
    plan: FetchPlan,
    opts: DownloadOptions,
    data_dir: Path,
    aoi: AOI,
    record: Record,
    earthdata_session: SessionFactory | None,
    stac_session: SessionFactory | None,
) -> None:
    """Produce every planned file, recording each outcome as it finishes."""
    total = sum(j.expected or 0 for j in plan.jobs)
    with progress("bytes") as bar:
        task_id = bar.add_task(f"fetch {len(plan.jobs)} files", total=total or None)
        run = _Run(opts, data_dir, record, lambda n: bar.advance(task_id, n))
        _fetch_pace(run, [j for j in plan.jobs if j.kind == "pace"], earthdata_session)
        s2_jobs = [j for j in plan.jobs if j.kind == "s2"]
        if s2_jobs:
            tasks = [run.task(j) for j in s2_jobs]
            download_all(tasks, stac_session or requests.Session, opts, on_done=run.done, on_bytes=run.advance)
        _clip_s2(run, [j for j in plan.jobs if j.kind == "s2clip"], aoi)


def _is_complete(j: Job, opts: DownloadOptions) -> bool:
    return (
        not opts.force
        and j.expected is not None
        and j.dest.exists()
        and j.dest.stat().st_size == j.expected
        and (j.checksum is None or checksum_problem(j.dest, j.checksum) is None)
    )


def _fetch_pace(run: _Run, jobs: list[Job], earthdata_session: SessionFactory | None) -> None:
    pending = []
    for j in jobs:
        # Complete files need no login: verify by size first, so an offline rerun works.
        if not _is_complete(j, run.opts):
            pending.append(j)
            continue
        e = j.entry
        run.record(
            ManifestEntry(
                e.source,
                e.collection,
                e.id,
                e.asset,
                j.url,
                e.path,
                "skipped",
                bytes=j.expected,
                expected_bytes=j.expected,
                size_check="ok",
                checksum=j.checksum,
            )
        )
        run.advance(j.expected or 0)
    if not pending:
        return
    factory = earthdata_session or _auth.earthdata_session_factory()
    tasks = [run.task(j) for j in pending]
    rep = download_all(tasks, factory, run.opts, on_done=run.done, on_bytes=run.advance)
    refused = [o.task for o in rep.outcomes if o.status == "failed" and o.http_status == 401]
    if refused and earthdata_session is None:
        # EDL tokens expire (~60 days; earthaccess#848): log in again once and retry those files.
        log.warning("Earthdata refused %d download(s) (HTTP 401): logging in again and retrying once", len(refused))
        download_all(refused, _auth.earthdata_session_factory(), run.opts, on_done=run.done, on_bytes=run.advance)


def _clip_s2(run: _Run, jobs: list[Job], aoi: AOI) -> None:
    if not jobs:
        return

    def clip_one(j: Job) -> None:
        try:
            o = clip_asset(j.url, j.dest, aoi.bbox, run.opts, expected=j.clip_window)
        except Exception as exc:  # report, never lose a job
            o = ClipOutcome(status="failed", reason=f"internal error: {type(exc).__name__}: {exc}")
        run.record(entry_from(j, o, run.data_dir))
        run.advance(j.expected or 0)

    with ThreadPoolExecutor(max_workers=run.opts.threads, thread_name_prefix="spectm-clip") as pool:
        for fut in as_completed([pool.submit(clip_one, j) for j in jobs]):
            fut.result()


def write_catalog(plan: FetchPlan, entries: dict[tuple[str, str, str], ManifestEntry], data_dir: Path) -> Path | None:
    """Write the complete items (every asset downloaded or skipped) to ``raw/catalog``."""
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
    if not items and not (catalog_dir(data_dir) / "catalog.json").exists():
        return None
    return write_local_catalog(data_dir, items, collection_titles=titles)
