"""The ``fetch`` stage of ``spectm run`` (pipeline section ``fetch:``)."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.fetch.api import fetch


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Fetch the pipeline's region and dates; raise FetchError when a file failed.

    The stage is idempotent: complete files are verified (size, checksum) and skipped, so a
    rerun after a failure downloads only what is missing. ``force`` has no effect: a fetch never
    refuses to add files.
    """
    return fetch(
        pipeline.region,
        pipeline.dates,
        data_dir=data_dir,
        sources=pipeline.fetch.sources,
        max_cloud_cover=pipeline.fetch.max_cloud_cover,
        threads=pipeline.fetch.threads,
        clip=pipeline.fetch.clip,
        raise_on_failure=True,
    )
