"""The ``join`` stage of ``spectm run``: build ``features/<join.name>/`` from the pipeline's cube."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Join with the ``join:`` section; the cube defaults to the pipeline's region. Skipped when
    the store exists for the same inputs and parameters; ``force`` replaces a store built from
    other inputs or parameters (otherwise refused)."""
    from spectm.aoi import parse_bbox
    from spectm.join import join

    params = pipeline.join
    if params.cube is None:
        params = params.model_copy(update={"cube": parse_bbox(pipeline.region, data_dir).name})
    res = join(data_dir, params=params, force=force)
    res.print_summary()
    h = res.counts.get("horizons", {})
    counts = {f"matched_{k}": v.get("matched", 0) for k, v in h.items()}
    counts["chips"] = res.counts.get("chips", {}).get("total", 0)
    return StageResult("join", status_of(res.status != "skipped"), res.summary(), [str(res.path)], counts)
