"""``spectm run`` stage ``cube``: build both cubes for the pipeline's region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.pipeline import StageResult


def run_stage(pipeline: Pipeline, data_dir: Path) -> StageResult:
    from spectm.cube.build import build_cube

    res = build_cube(pipeline.region, pipeline.dates, data_dir=data_dir, scheduler="local")
    written = sum(len(r.days_written) + len(r.days_repaired) + len(r.days_forced) for r in res.sensors.values())
    summary = "; ".join(f"{r.sensor}: {len(r.days_written)} new, {r.days_already_complete} complete" for r in res.sensors.values())
    return StageResult("cube", "done" if written else "skipped", summary, [str(p) for p in res.paths])
