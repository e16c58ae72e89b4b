"""``predict`` as a ``spectm run`` stage: maps from the pipeline's regress run."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Map ``predict.dates`` (default: the pipeline's dates) with the regressor of
    ``predict.checkpoint`` (default: the latest complete ``<pipeline>-regress-`` run).

    Skipped when ``maps/<name>/manifest.json`` records the same regressor, cube and
    settings; otherwise the maps are (re)made from scratch — a map date takes seconds, so an
    interrupted predict restarts rather than resumes. Maps of other settings are always
    replaced, so ``force`` has no effect.
    """
    from spectm.aoi import parse_bbox
    from spectm.errors import DataNotFoundError
    from spectm.predict import predict_maps
    from spectm.runs import latest_complete_run

    p = pipeline.predict
    ckpt: str | Path | None = p.checkpoint
    if ckpt is None:
        ckpt = latest_complete_run(data_dir, f"{pipeline.name}-regress-")
        if ckpt is None:
            raise DataNotFoundError(
                f"no complete regress run '{pipeline.name}-regress-*' in {data_dir / 'runs'}",
                "put 'regress' before 'predict' in the pipeline's stages, or set predict.checkpoint",
            )
    region = p.cube or parse_bbox(pipeline.region, data_dir).name
    res = predict_maps(
        data_dir,
        ckpt,
        p.dates or pipeline.dates,
        region=region,
        name=p.name or pipeline.name,
        model=p.model,
        horizon=p.horizon,
        join=pipeline.join,
        min_valid=p.min_valid,
        overlap=p.overlap,
        batch_size=p.batch_size,
        quicklooks=p.quicklooks,
        force=True,
    )
    res.print_summary()
    counts = {k: v for k, v in res.counts.items() if isinstance(v, int | float)}
    return StageResult(
        "predict", status_of(res.status != "skipped"), res.summary(), [str(res.path), str(res.png_dir)], counts
    )
