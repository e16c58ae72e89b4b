"""The stage contract: how every stage of ``spectm run`` is called and what it returns.

A stage is a function ``run_stage(pipeline, data_dir, *, force=False) -> StageResult``,
registered by name in :data:`spectm.pipeline.STAGES`. One calling convention and one result
type mean the pipeline runner, the CLI and the tests treat every stage alike:

* ``pipeline`` holds the stage's own section (``pipeline.fetch``, ``pipeline.cube``, …) and the
  region and dates all stages share; ``data_dir`` is the absolute data directory;
* ``force`` replaces output that the stage would otherwise refuse to replace (a feature store
  or a twin ``raw/`` built from other inputs); a stage that never refuses ignores it. Complete
  output of the same inputs is reused either way;
* the :class:`StageResult` says whether the stage made anything (``done``), found its output
  complete (``skipped``) or failed (``failed``, set by the runner when the stage raised), in one
  line for the pipeline table, with the paths it wrote and the numbers behind that line
  (``counts``) for callers that need them.

A stage decides itself whether its output is complete, with the keys and markers of
:mod:`spectm.provenance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from spectm.config import Pipeline

Status = Literal["done", "skipped", "failed"]
STATUSES: tuple[Status, ...] = ("done", "skipped", "failed")


@dataclass
class StageResult:
    """What one stage did: status, a one-line summary, the paths it wrote, and its counts."""

    stage: str
    status: Status
    summary: str = ""
    outputs: list[str] = field(default_factory=list)
    counts: dict[str, int | float] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"stage {self.stage}: status '{self.status}' is not one of {', '.join(STATUSES)}")
        self.outputs = [str(p) for p in self.outputs]


def status_of(changed: bool) -> Status:
    """``done`` when the stage wrote something this call, else ``skipped`` (its output was complete)."""
    return "done" if changed else "skipped"


class Stage(Protocol):
    """The one entry shape of a ``spectm run`` stage (see the module docstring)."""

    def __call__(self, pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult: ...
