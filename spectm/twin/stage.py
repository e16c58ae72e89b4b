"""Pipeline stage ``twin`` (``spectm run``): generate the twin for the pipeline's region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.pipeline import StageResult


def run_stage(pipeline: Pipeline, data_dir: Path) -> StageResult:
    """Generate (or skip, when complete for the same parameters) the twin of ``pipeline``."""
    from spectm.twin.generate import generate_twin

    t = pipeline.twin
    res = generate_twin(
        pipeline.region,
        pipeline.dates,
        data_dir=Path(data_dir),
        months=pipeline.months,
        seasons=pipeline.seasons,
        seed=t.seed,
        pace_resolution_m=t.pace_resolution_m,
        s2_resolution_m=t.s2_resolution_m,
        s2_revisit_days=t.s2_revisit_days,
        workers=t.workers,
    )
    return StageResult("twin", res.status, res.summary(), outputs=["raw/manifest.json", "raw/catalog/catalog.json"])
