"""``spectm run`` stage ``cube``: build the pipeline's cubes (``cube:`` section) for its region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.pipeline import StageResult


def run_stage(pipeline: Pipeline, data_dir: Path) -> StageResult:
    """Build or extend each sensor's cube; ``skipped`` when every requested day was already complete.

    Sensors are built one call each so that each can have its own resolution (``build_cube``'s
    ``resolution`` applies to every sensor of a call).
    """
    from spectm.cube.build import build_cube

    c = pipeline.cube
    resolution = {"pace": c.pace_resolution_m, "s2": c.s2_resolution_m}
    written = 0
    parts: list[str] = []
    paths: list[str] = []
    for sensor in c.sensors:
        res = build_cube(pipeline.region, pipeline.dates, data_dir=data_dir, sensors=[sensor],
                         resolution=resolution[sensor], flags=c.flags,
                         scheduler=c.scheduler or "local", workers=c.workers, memory_limit=c.memory_limit)
        for r in res.sensors.values():
            written += len(r.days_written) + len(r.days_repaired) + len(r.days_forced)
            parts.append(f"{r.sensor}: {len(r.days_written)} new, {r.days_already_complete} complete")
        paths += [str(p) for p in res.paths]
    return StageResult("cube", "done" if written else "skipped", "; ".join(parts), paths)
