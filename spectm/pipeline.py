"""``spectm run``: run the stages a pipeline file names, in order.

Each stage is a function ``(pipeline, data_dir) -> StageResult`` registered in
:data:`STAGES` by its module. A stage decides itself whether its output is
complete (every stage is idempotent), so re-running a pipeline skips finished
work and resumes after a failure where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from spectm.config import Pipeline
from spectm.console import log, print_table
from spectm.errors import ConfigError


@dataclass
class StageResult:
    stage: str
    status: str  # "done" | "skipped" (already complete)
    summary: str = ""
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0


StageFn = Callable[[Pipeline, Path], StageResult]

# stage name -> "module:function"; resolved lazily so importing spectm stays light.
STAGES: dict[str, str] = {
    "samples": "spectm.samples.stage:run_stage",
    "fetch": "spectm.fetch.stage:run_stage",
    "cube": "spectm.cube.stage:run_stage",
    "twin": "spectm.twin.stage:run_stage",
    "pretrain": "spectm.model.stage:run_stage",
    "join": "spectm.features.stage:run_stage",
}


def resolve_stage(name: str) -> StageFn:
    if name not in STAGES:
        raise ConfigError(
            f"stage '{name}' is not available in this version of spectm (available: {', '.join(STAGES)})",
            "remove it from 'stages:' in the pipeline file",
        )
    mod, fn = STAGES[name].split(":")
    return getattr(import_module(mod), fn)


def run_pipeline(pipeline: Pipeline, data_dir: Path) -> list[StageResult]:
    """Run every stage of ``pipeline`` in order; raise on the first failure."""
    from spectm.aoi import parse_bbox

    parse_bbox(pipeline.region, data_dir)  # fail fast on an unknown region
    fns = [(s, resolve_stage(s)) for s in pipeline.stages]  # ... and on unknown stages
    results = []
    for name, fn in fns:
        log.info("stage %s: starting", name)
        t0 = time.perf_counter()
        res = fn(pipeline, data_dir)
        res.seconds = time.perf_counter() - t0
        results.append(res)
        log.info("stage %s: %s in %.1f s", name, res.status, res.seconds)
    print_table(
        f"Pipeline {pipeline.name}",
        ["stage", "status", "seconds", "summary"],
        [(r.stage, r.status, f"{r.seconds:.1f}", r.summary) for r in results],
    )
    return results
