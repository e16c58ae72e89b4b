"""The ``join`` stage of ``spectm run``: build ``features/<join.name>/`` from the pipeline's cube."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.join.run import join


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Join with the ``join:`` section; the cube defaults to the pipeline's region. Skipped when
    the store exists for the same inputs and parameters; ``force`` replaces a store built from
    other inputs or parameters (otherwise refused)."""
    return join(data_dir=data_dir, params=pipeline.join, region=pipeline.region, force=force)
