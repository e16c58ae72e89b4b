"""``pretrain`` as a ``spectm run`` stage."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.pipeline import StageResult


def run_stage(pipeline: Pipeline, data_dir: Path) -> StageResult:
    """Train a new run named after the pipeline (runs are never skipped: each is a new experiment)."""
    from spectm.model.run import pretrain_run

    res = pretrain_run(pipeline.pretrain, data_dir, pipeline=pipeline)
    t = res.report.get("targeted", {})
    return StageResult("pretrain", "done",
                       f"{res.steps} steps, loss {res.final_loss:.3g}, targeted r {t.get('model_r', float('nan')):.3f} "
                       f"(spline {t.get('spline_r', float('nan')):.3f})", [str(res.run_dir)])
