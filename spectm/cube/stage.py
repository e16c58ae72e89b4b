"""``spectm run`` stage ``cube``: build the pipeline's cubes (``cube:`` section) for its region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Build or extend each sensor's cube at its own resolution (one dask cluster for all);
    ``skipped`` when every requested day was already complete. ``force`` has no effect: a cube
    of other settings is never refused (``spectm build-cube --force`` rebuilds days)."""
    from spectm.cube.build import build_cube

    c = pipeline.cube
    res = build_cube(
        pipeline.region,
        pipeline.dates,
        data_dir=data_dir,
        sensors=c.sensors,
        resolution={"pace": c.pace_resolution_m, "s2": c.s2_resolution_m},
        flags=c.flags,
        scheduler=c.scheduler or "local",
        workers=c.workers,
        memory_limit=c.memory_limit,
        months=pipeline.months,
        seasons=pipeline.seasons,
    )
    written = sum(len(r.days_written) + len(r.days_repaired) + len(r.days_forced) for r in res.sensors.values())
    summary = "; ".join(
        f"{r.sensor}: {len(r.days_written)} new, {r.days_already_complete} complete"
        + (f", {len(r.days_empty)} with 0 valid cells" if r.days_empty else "")
        for r in res.sensors.values()
    )
    counts = {
        "days_written": written,
        "days_complete": sum(r.days_already_complete for r in res.sensors.values()),
        "days_empty": sum(len(r.days_empty) for r in res.sensors.values()),
    }
    return StageResult("cube", status_of(bool(written)), summary, [str(p) for p in res.paths], counts)
