"""``pretrain`` as a ``spectm run`` stage: skipped when complete, resumed when interrupted."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.pretrain.run import pretrain_run


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Train the pipeline's pretraining run ``<pipeline>-pretrain-<key>``.

    The key hashes the ``pretrain:`` section and the chips store, so a re-run with the same
    configuration and inputs is skipped, an interrupted run resumes from its last checkpoint,
    and a changed configuration trains a new run; nothing is refused, so ``force`` has no effect.
    """
    return pretrain_run(pipeline.pretrain, data_dir=data_dir, pipeline=pipeline, run_id="auto", reuse=True)
