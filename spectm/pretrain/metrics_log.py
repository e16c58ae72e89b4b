"""The pretraining metrics: ``metrics.csv`` (+ TensorBoard when installed) and the running loss window.

Only rank 0 writes. A resumed run first drops the rows written after its checkpoint, so the
file reads as if the run had never been interrupted.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import torch

METRIC_FIELDS = [
    "step",
    "epoch",
    "lr",
    "loss",
    "recon",
    "indices",
    "future",
    "grad_norm",
    "samples_per_s",
    "val_loss",
    "val_recon",
    "val_indices",
    "val_future",
]


class MetricsWriter:
    """metrics.csv (+ TensorBoard when installed); rank 0 only."""

    def __init__(self, path: Path, resume_step: int | None, enabled: bool) -> None:
        self.enabled = enabled
        self.path = path
        self.tb = None
        if not enabled:
            return
        if resume_step is not None and path.exists():  # drop rows written after the checkpoint
            with path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            with path.open("w", newline="") as f:
                wr = csv.DictWriter(f, METRIC_FIELDS)
                wr.writeheader()
                wr.writerows(rows)
        else:  # a new run, or a resume without a file yet
            with path.open("w", newline="") as f:
                csv.DictWriter(f, METRIC_FIELDS).writeheader()
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:
            self.tb = None

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, METRIC_FIELDS).writerow({k: row.get(k, "") for k in METRIC_FIELDS})
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "epoch") and isinstance(v, float):
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class LossWindow:
    """Loss parts summed over the steps since the last log line, and the samples seen in them."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, float] = {}
        self.n = 0
        self.seen = 0
        self.t0 = time.perf_counter()

    def add(self, parts: dict[str, torch.Tensor], samples: int) -> None:
        self.seen += samples
        for k, v in parts.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v.detach())
        self.n += 1

    def means(self, keys: tuple[str, ...]) -> torch.Tensor:
        return torch.tensor([self.sums[k] / self.n for k in keys])

    def samples_per_s(self) -> float:
        dt = time.perf_counter() - self.t0
        return self.seen / dt if dt > 0 else float("nan")


__all__ = ["METRIC_FIELDS", "LossWindow", "MetricsWriter"]
