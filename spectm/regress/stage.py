"""``regress`` as a ``spectm run`` stage: skipped when complete, resumed fit by fit when interrupted."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Train the pipeline's models into ``runs/<pipeline>-regress-<key>/``.

    The key hashes the ``regress:`` section and the fingerprints of the feature store and the
    encoder (the pipeline's latest complete pretrain run unless ``regress.encoder`` names one).
    A run of other settings gets another key, so nothing is refused and ``force`` has no effect.
    """
    from spectm.regress.run import regress_run

    res = regress_run(pipeline.regress, Path(data_dir), pipeline_name=pipeline.name)
    test = res.metrics[res.metrics["split"] == "test"]
    best = test.sort_values("r2", ascending=False).groupby("horizon").head(1)
    summary = "; ".join(f"{r.horizon}: best {r.model} R² {r.r2:.3f}" for r in best.itertuples())
    what = f"{res.run_dir.name} complete" if res.status == "skipped" else f"{res.run_dir.name}: {summary}"
    no_test = [h for h in pipeline.regress.horizons if h not in set(best["horizon"])]
    if res.status != "skipped" and no_test:
        what += f"; no test match-ups for {', '.join(no_test)}"
    if res.notes:
        what += f"; {res.notes_line()}"
    counts = {"fitted": res.fitted, "reused": res.reused, "notes": len(res.notes)}
    return StageResult("regress", status_of(res.status != "skipped"), what, [str(res.run_dir)], counts)
