"""Pipeline stage ``twin`` (``spectm run``): generate the twin for the pipeline's region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.twin.generate import generate_twin


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Generate (or skip, when complete for the same parameters) the twin of ``pipeline``.

    ``force`` is not passed on: ``generate_twin(force=True)`` regenerates even a complete twin,
    which ``spectm run --force`` must not do; a refused ``raw/`` is replaced by ``spectm twin --force``.
    """
    return generate_twin(
        pipeline.region,
        pipeline.dates,
        data_dir=data_dir,
        months=pipeline.months,
        seasons=pipeline.seasons,
        seed=pipeline.twin.seed,
        pace_resolution_m=pipeline.twin.pace_resolution_m,
        s2_resolution_m=pipeline.twin.s2_resolution_m,
        s2_revisit_days=pipeline.twin.s2_revisit_days,
        workers=pipeline.twin.workers,
    )
