"""Which regressor ``spectm predict`` uses, and the interface it needs from it.

A ``--checkpoint`` names either a regressor directory (``regressor.json`` +
``regressor.safetensors``, written by the regress stage) or a regress run (id or directory),
whose ``regressor/<model>_<horizon>/`` subdirectories hold one regressor each. The prediction
code only needs the :class:`ChipPredictor` protocol below, so it can be driven by any object that
implements it (a notebook's own model, a test double).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from spectm.errors import BadInputError, DataNotFoundError
from spectm.regress import load_regressor
from spectm.runs import run_path

REGRESSOR_JSON = "regressor.json"
# Preferred model when a regress run holds several torch regressors for one horizon.
MODEL_PREFERENCE = ("spectm-finetune", "spectm-frozen")


@runtime_checkable
class ChipPredictor(Protocol):
    """What ``spectm predict`` needs from a trained regressor (the contract between the regress and predict stages).

    Named for what predict does with it (chips in, per-pixel maps out), not for how it was made:
    :class:`spectm.regress.regressor.SavedRegressor` satisfies it, and so may any other object.
    """

    sensor: str
    wavelengths: np.ndarray
    chip_size: int
    chip_time: int
    horizon: str
    lead_days: int

    def predict_chips(self, chips: np.ndarray, days: np.ndarray) -> np.ndarray:
        """(N, T, C, H, W) float32 (NaN = invalid) and (N, T) days → (N, H, W) log10 µg/L."""
        ...


def _candidates(run_dir: Path) -> dict[str, Path]:
    sub = run_dir / "regressor"
    if not sub.is_dir():
        return {}
    return {d.name: d for d in sorted(sub.iterdir()) if (d / REGRESSOR_JSON).exists()}


def resolve_checkpoint(
    data_dir: Path, checkpoint: str | Path, *, model: str | None = None, horizon: str | None = None
) -> Path:
    """The regressor directory that ``checkpoint`` names (see the module docstring).

    In a regress run, ``model``/``horizon`` choose among ``regressor/<model>_<horizon>/``;
    without them the horizon defaults to ``current`` and the model to the only one, else to
    the first of ``spectm-finetune``, ``spectm-frozen`` that exists.
    """
    text = str(checkpoint)
    cands = [Path(text), run_path(data_dir, text)]
    path = next((p for p in cands if p.is_dir()), None)
    if path is None:
        raise DataNotFoundError(
            f"checkpoint '{text}' is neither a directory nor a run id in {Path(data_dir) / 'runs'}",
            "pass a regress run id (see `ls <data-dir>/runs`), a run directory, or a regressor directory",
        )
    if (path / REGRESSOR_JSON).exists():
        return path
    found = _candidates(path)
    if not found:
        raise DataNotFoundError(
            f"{path} holds no regressor ({REGRESSOR_JSON} or regressor/<model>_<horizon>/)",
            "run `spectm train regress` (or the pipeline's regress stage) with a spectm model first",
        )
    hz = horizon or "current"
    by_hz = {k: v for k, v in found.items() if k.endswith(f"_{hz}")}
    if model is not None:
        key = f"{model}_{hz}"
        if key not in found:
            raise BadInputError(
                f"{path} has no regressor {key} (it has: {', '.join(found)})",
                "pick one of those with --model/--horizon",
            )
        return found[key]
    if len(by_hz) == 1:
        return next(iter(by_hz.values()))
    for m in MODEL_PREFERENCE:
        if f"{m}_{hz}" in by_hz:
            return by_hz[f"{m}_{hz}"]
    raise BadInputError(
        f"{path} has no single regressor for horizon '{hz}' (it has: {', '.join(found) or 'none'})",
        "pick one with --model and --horizon",
    )


def load(path: Path) -> ChipPredictor:
    """Load the regressor in ``path`` with :func:`spectm.regress.load_regressor`."""

    reg = load_regressor(path)
    if not isinstance(reg, ChipPredictor):
        raise BadInputError(
            f"{path} did not load as a regressor with predict_chips()", "re-train it with `spectm train regress`"
        )
    return reg
