"""``evaluate`` as a ``spectm run`` stage: :func:`spectm.evaluate.run.evaluate_run` on the pipeline."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.evaluate.run import evaluate_run


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Stage ``evaluate``: SpecTM's protocol on the pipeline's feature store (docs/evaluate.md).

    Other settings make another run id, so nothing is refused and ``force`` has no effect."""
    return evaluate_run(pipeline, data_dir=data_dir)
