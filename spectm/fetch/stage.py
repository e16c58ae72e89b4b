"""The ``fetch`` stage of ``spectm run`` (pipeline section ``fetch:``)."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Fetch the pipeline's region and dates; raise FetchError when a file failed.

    The stage is idempotent: complete files are verified (size, checksum) and skipped, so a
    rerun after a failure downloads only what is missing. ``force`` has no effect: a fetch never
    refuses to add files.
    """
    from spectm.fetch.api import fetch

    sec = pipeline.fetch
    res = fetch(
        pipeline.region,
        pipeline.dates,
        data_dir=data_dir,
        sources=sec.sources,
        max_cloud_cover=sec.max_cloud_cover,
        threads=sec.threads,
        clip=sec.clip,
    )
    res.raise_for_failures()
    n_new = sum(s.downloaded for s in res.sources.values())
    n_old = sum(s.skipped for s in res.sources.values())
    return StageResult(
        stage="fetch",
        status=status_of(bool(n_new)),
        summary=f"{n_new} downloaded, {n_old} already complete",
        outputs=[str(res.manifest_path)] + ([str(res.catalog_path)] if res.catalog_path else []),
        counts={"downloaded": n_new, "skipped": n_old, "bytes": sum(s.bytes for s in res.sources.values())},
    )
