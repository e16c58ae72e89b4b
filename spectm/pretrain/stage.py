"""``pretrain`` as a ``spectm run`` stage: skipped when complete, resumed when interrupted."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.runs import run_path


def pretrain_stage_run_id(pipeline: Pipeline, data_dir: Path) -> str:
    """The deterministic run id of the pipeline's pretrain stage (config + chips fingerprint)."""
    from spectm.pretrain.run import resolve_chips
    from spectm.provenance import file_fingerprint, stage_run_id

    chips = resolve_chips(pipeline.pretrain, data_dir, None)
    payload = {"pretrain": pipeline.pretrain.model_dump(mode="json"), "chips": file_fingerprint(chips)}
    return stage_run_id(pipeline.name, "pretrain", payload)


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Train the pipeline's pretraining run ``<pipeline>-pretrain-<key>``.

    The key hashes the ``pretrain:`` section and the chips store, so a re-run with the same
    configuration and inputs is skipped, an interrupted run resumes from its last checkpoint,
    and a changed configuration trains a new run; nothing is refused, so ``force`` has no effect.
    """
    from spectm.pretrain.run import pretrain_run
    from spectm.provenance import is_complete, read_complete

    run_id = pretrain_stage_run_id(pipeline, data_dir)
    run_dir = run_path(data_dir, run_id)
    if is_complete(run_dir):
        done = read_complete(run_dir)
        return StageResult(
            "pretrain",
            "skipped",
            f"{run_id} complete ({done.get('steps')} steps)",
            [str(run_dir)],
            {"steps": int(done.get("steps") or 0)},
        )
    resume = run_id if (run_dir / "checkpoints" / "last.pt").exists() else None
    if resume is None and run_dir.exists():  # started but not one checkpoint written: start over
        import shutil

        shutil.rmtree(run_dir)
    res = pretrain_run(pipeline.pretrain, data_dir, pipeline=pipeline, run_id=None if resume else run_id, resume=resume)
    t = res.report.get("targeted", {})
    return StageResult(
        "pretrain",
        "done",
        f"{run_id}: {res.steps} steps, loss {res.final_loss:.3g}, targeted r "
        f"{t.get('model_r', float('nan')):.3f} (linear {t.get('linear_r', float('nan')):.3f}, "
        f"spline {t.get('spline_r', float('nan')):.3f}, PCA {t.get('pca_r', float('nan')):.3f})",
        [str(run_dir)],
        {"steps": res.steps},
    )
