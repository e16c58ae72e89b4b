"""Pipeline stage ``twin`` (``spectm run``): generate the twin for the pipeline's region and dates."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Generate (or skip, when complete for the same parameters) the twin of ``pipeline``.

    ``force`` is not passed on: ``generate_twin(force=True)`` regenerates even a complete twin,
    which ``spectm run --force`` must not do; a refused ``raw/`` is replaced by ``spectm twin --force``.
    """
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
    counts = {"granules": res.n_granules, "scenes": res.n_scenes, "bytes": res.bytes_written}
    return StageResult(
        "twin",
        status_of(res.status != "skipped"),
        res.summary(),
        outputs=["raw/manifest.json", "raw/catalog/catalog.json"],
        counts=counts,
    )
