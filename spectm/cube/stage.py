"""``spectm run`` stage ``cube``: build the pipeline's cubes (``cube:`` section) for its region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.cube.build import build_cube


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Build or extend each sensor's cube at its own resolution (one dask cluster for all);
    ``skipped`` when every requested day was already complete. ``force`` has no effect: a cube
    built with other settings stays refused (delete the store to rebuild it), and
    ``spectm build-cube --force`` rebuilds days of the same settings."""
    return build_cube(
        pipeline.region,
        pipeline.dates,
        data_dir=data_dir,
        sensors=pipeline.cube.sensors,
        resolution={"pace": pipeline.cube.pace_resolution_m, "s2": pipeline.cube.s2_resolution_m},
        flags=pipeline.cube.flags,
        scheduler=pipeline.cube.scheduler,
        workers=pipeline.cube.workers,
        memory_limit=pipeline.cube.memory_limit,
        months=pipeline.months,
        seasons=pipeline.seasons,
    )
