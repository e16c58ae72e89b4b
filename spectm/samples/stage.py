"""The ``samples`` stage of ``spectm run``: ingest the pipeline's sample files."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.samples.ingest import ingest_samples


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Ingest ``pipeline.samples.files`` (empty: the bundled GLERL files); skipped when the
    outputs already exist for the same inputs. Outputs of other inputs are replaced, so ``force``
    has no effect."""
    return ingest_samples(pipeline.samples.files, data_dir=data_dir, column_map=pipeline.samples.column_map)
