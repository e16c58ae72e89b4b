"""The ``samples`` stage of ``spectm run``: ingest the pipeline's sample files."""

from __future__ import annotations

from pathlib import Path

from spectm.config import Pipeline
from spectm.contract import StageResult, status_of
from spectm.samples.ingest import ingest_samples
from spectm.samples.summary import print_ingest_summary, summary_line


def run_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """Ingest ``pipeline.samples.files`` (empty: the bundled GLERL files); skipped when the
    outputs already exist for the same inputs. Outputs of other inputs are replaced, so ``force``
    has no effect."""
    files = [Path(f) for f in pipeline.samples.files] or None
    cmap = Path(pipeline.samples.column_map) if pipeline.samples.column_map else None
    result = ingest_samples(files, data_dir=data_dir, column_map=cmap)
    print_ingest_summary(result)
    t = result.totals
    counts = {"rows_read": t.rows_read, "rows_kept": t.rows_kept, "rows_rejected": t.rows_rejected}
    return StageResult(
        stage="samples",
        status=status_of(not result.skipped),
        summary=summary_line(result),
        outputs=[str(p) for p in result.paths.values()],
        counts=counts,
    )
