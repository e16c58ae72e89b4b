"""The stage contract: how every stage is called and the one type every stage returns.

Every stage's Python entry point (``fetch``, ``ingest_samples``, ``generate_twin``,
``build_cube``, ``join``, ``pretrain_run``, ``regress_run``, ``evaluate_run``, ``predict_maps``)
returns a :class:`StageResult`: its own result class *is* a ``StageResult`` with the stage's
details added (days per sensor, the match-up tables, the metrics …). So the pipeline runner,
the CLI and a notebook read every stage the same way:

* ``status``: ``done`` (the stage made something this call), ``skipped`` (its output was
  already complete for the same inputs and settings) or ``failed`` (set by the runner when the
  stage raised);
* ``summary``: one line for the pipeline table and the terminal;
* ``outputs``: the paths it wrote (or found);
* ``counts``: the numbers behind the summary, including what was skipped or rejected, so
  nothing disappears silently;
* ``seconds``: wall time of the call;
* :meth:`StageResult.print_details`: the stage's own tables, printed by ``spectm run`` and by
  the stage's command.

A stage of ``spectm run`` is ``run_stage(pipeline, data_dir, *, force=False) -> StageResult``
in ``spectm/<stage>/stage.py``, registered by name in :data:`spectm.pipeline.STAGES`: one call
that passes the pipeline's section to the entry point and returns what it returns.

* ``pipeline`` holds the stage's own section (``pipeline.fetch``, ``pipeline.cube``, …) and the
  region and dates all stages share; ``data_dir`` is the absolute data directory;
* ``force`` replaces output that the stage would otherwise refuse to replace (a feature store
  or a twin ``raw/`` built from other inputs); a stage that never refuses ignores it. Complete
  output of the same inputs is reused either way.

A stage decides itself whether its output is complete, with the keys and markers of
:mod:`spectm.provenance`.

A stage's result class is a ``@dataclass(kw_only=True)`` subclass that sets ``stage`` to its
name and fills ``summary``, ``outputs`` and ``counts`` from its own fields in
:meth:`StageResult.describe`, so the entry point only says what happened.
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
        summary, outputs, counts = self.describe()
        self.summary = self.summary or summary
        self.outputs = [str(p) for p in (self.outputs or outputs)]
        self.counts = self.counts or counts
        bad = {k: v for k, v in self.counts.items() if not isinstance(v, int | float) or isinstance(v, bool)}
        if bad:
            raise ValueError(f"stage {self.stage}: counts must be numbers, got {bad}")

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """(summary, outputs, counts) derived from a subclass's own fields; used where the
        constructor left them empty. The base class has nothing to derive."""
        return "", [], {}

    def print_details(self) -> None:
        """Print the stage's own tables (match-ups per horizon, rows rejected per reason …)
        after its line in the pipeline table; the CLI command of the stage prints the same.
        The base class has none."""

    @property
    def skipped(self) -> bool:
        """True when the output was already complete and nothing was made."""
        return self.status == "skipped"


def status_of(changed: bool) -> Status:
    """``done`` when the stage wrote something this call, else ``skipped`` (its output was complete)."""
    return "done" if changed else "skipped"


class Stage(Protocol):
    """The one entry shape of a ``spectm run`` stage (see the module docstring)."""

    def __call__(self, pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult: ...
