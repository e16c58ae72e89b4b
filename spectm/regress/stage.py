"""``regress`` as a ``spectm run`` stage: skipped when complete, resumed fit by fit when interrupted."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.regress.run import regress_run


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Train the pipeline's models into ``runs/<pipeline>-regress-<key>/``.

    The key hashes the ``regress:`` section and the fingerprints of the feature store and the
    encoder (the pipeline's latest complete pretrain run unless ``regress.encoder`` names one).
    A run of other settings gets another key, so nothing is refused and ``force`` has no effect.
    """
    return regress_run(pipeline.regress, data_dir=data_dir, pipeline_name=pipeline.name)
