"""``predict`` as a ``spectm run`` stage: maps from the pipeline's regress run."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.predict.maps import predict_maps


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Map ``predict.dates`` (default: the pipeline's dates) with the regressor of
    ``predict.checkpoint`` (default: the latest complete ``<pipeline>-regress-`` run).

    Skipped when ``maps/<name>/manifest.json`` records the same regressor, cube and
    settings; otherwise the maps are (re)made from scratch — a map date takes seconds, so an
    interrupted predict restarts rather than resumes. Maps of other settings are always
    replaced, so ``force`` has no effect.
    """
    return predict_maps(
        pipeline.predict.checkpoint,
        pipeline.predict.dates or pipeline.dates,
        data_dir=data_dir,
        region=pipeline.predict.cube,
        aoi=pipeline.region,
        name=pipeline.predict.name,
        pipeline_name=pipeline.name,
        model=pipeline.predict.model,
        horizon=pipeline.predict.horizon,
        join=pipeline.join,
        min_valid=pipeline.predict.min_valid,
        overlap=pipeline.predict.overlap,
        batch_size=pipeline.predict.batch_size,
        quicklooks=pipeline.predict.quicklooks,
        force=True,
    )
