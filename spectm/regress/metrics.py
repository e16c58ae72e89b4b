"""Regression metrics on log10 microcystin: R², RMSE and MAE (numpy in, float out).

Definitions (the ones SpecTM's tables use):

* ``r2``   = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²  (coefficient of determination, not squared Pearson r;
  negative when the model is worse than predicting the mean of ``y``);
* ``rmse`` = √(mean((y − ŷ)²));
* ``mae``  = mean(|y − ŷ|).

Pairs where either value is not finite are an error, not silently skipped: callers decide
which rows they evaluate.
"""

from __future__ import annotations

import numpy as np

from spectm.errors import BadInputError


def _pair(y: np.ndarray, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    yhat = np.asarray(yhat, dtype=np.float64).ravel()
    if y.shape != yhat.shape:
        raise BadInputError(f"y has {y.size} values but yhat has {yhat.size}", "pass one prediction per label")
    if y.size == 0:
        raise BadInputError("no values to score", "evaluate at least one row")
    if not (np.isfinite(y).all() and np.isfinite(yhat).all()):
        raise BadInputError("y or yhat holds NaN/inf values", "drop (and count) the rows without a prediction first")
    return y, yhat


def r2(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination; NaN when ``y`` is constant (undefined)."""
    y, yhat = _pair(y, yhat)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - yhat) ** 2)) / ss_tot


def rmse(y: np.ndarray, yhat: np.ndarray) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.sqrt(np.mean((y - yhat) ** 2)))


def mae(y: np.ndarray, yhat: np.ndarray) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.mean(np.abs(y - yhat)))


def scores(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    """All three metrics plus the row count."""
    return {"r2": r2(y, yhat), "rmse": rmse(y, yhat), "mae": mae(y, yhat), "n": int(np.asarray(y).size)}
