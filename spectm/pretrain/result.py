"""What :func:`spectm.pretrain.pretrain_run` returns: the stage's :class:`StageResult`.

Kept apart from the trainer (torch, ~400 lines) and the run logic: the result is the stage's line
in ``spectm run`` and its table, nothing of the training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spectm.console import print_table
from spectm.contract import StageResult

_R_KEYS = ("model_r", "linear_r", "spline_r", "pca_r")


@dataclass(kw_only=True)
class PretrainResult(StageResult):
    """A pretraining run trained this call (``done``) or found complete (``skipped``).

    A skipped run has only what its ``complete.json`` records (``steps``, ``final_loss``); the
    trained one also has the trainer's numbers and ``report`` (``run.json``: the targeted-band
    comparison with linear, spline and PCA fills)."""

    stage: str = "pretrain"
    run_dir: Path
    steps: int
    epochs_done: int = 0
    stopped_early: bool = False
    best_val_loss: float | None = None
    final_loss: float = float("nan")
    params: int = 0
    world_size: int = 1
    report: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """Steps, final loss and the targeted-band correlation of the model and its baselines."""
        if self.skipped:
            return f"{self.run_dir.name} complete ({self.steps} steps)", [self.run_dir], {"steps": self.steps}
        t = self.report.get("targeted", {})
        r = [t.get(k, float("nan")) for k in _R_KEYS]
        line = (
            f"{self.run_dir.name}: {self.steps} steps, loss {self.final_loss:.3g}, targeted r "
            f"{r[0]:.3f} (linear {r[1]:.3f}, spline {r[2]:.3f}, PCA {r[3]:.3f})"
        )
        return line, [self.run_dir], {"steps": self.steps}

    def print_details(self) -> None:
        """The run's table (what ``spectm train pretrain`` prints); nothing for a skipped run."""
        if not self.report:
            return
        t = self.report.get("targeted", {})
        print_table(
            f"Pretraining run {self.run_dir.name}",
            ["what", "value"],
            [
                ("run dir", str(self.run_dir)),
                ("steps", self.steps),
                ("parameters", self.params),
                ("final loss", self.final_loss),
                ("best val loss", self.best_val_loss if self.best_val_loss is not None else "n/a"),
                ("stopped early", str(self.stopped_early)),
                (
                    "targeted r spectm / linear / spline / PCA",
                    " / ".join(f"{t.get(k, float('nan')):.4f}" for k in _R_KEYS),
                ),
            ],
        )
