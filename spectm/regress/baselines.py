"""Classical baselines on the match-up spectrum + indices: Ridge, SVR, random forest, GBT.

Each is a scikit-learn ``Pipeline(StandardScaler, estimator)``. Hyperparameters are chosen on
the **val** split from a small fixed grid (below; documented in docs/regress.md) by val RMSE,
ties to the earlier grid entry; the chosen pipeline is the one fitted on the train rows only
(never refitted on train + val, so the rows used for fitting are exactly the train subset).
Random estimators take ``random_state = seed`` and run single-threaded, so a fit is
deterministic. Ridge and SVR (RBF kernel) are SpecTM's baselines; the forest and the
gradient-boosted trees (sklearn ``HistGradientBoostingRegressor``) are what CyFi-style users pick.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from spectm.config import BASELINE_MODELS

BASELINES = BASELINE_MODELS

GRIDS: dict[str, dict[str, list[Any]]] = {
    "ridge": {"alpha": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]},
    "svr": {"C": [0.1, 1.0, 10.0, 100.0], "epsilon": [0.05, 0.2], "gamma": ["scale"]},
    "rf": {"max_depth": [None, 6], "min_samples_leaf": [1, 5], "max_features": [0.33, 1.0]},
    "gbt": {"learning_rate": [0.03, 0.1], "max_depth": [2, 4], "min_samples_leaf": [3, 10]},
}


@dataclass
class BaselineFit:
    model: str
    params: dict[str, Any]
    val_rmse: float
    estimator: Any  # the fitted sklearn Pipeline


def make_estimator(model: str, params: dict[str, Any], seed: int) -> Any:
    """A ``Pipeline(StandardScaler, <model>)`` with ``params``."""
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    if model == "ridge":
        est: Any = Ridge(**params)
    elif model == "svr":
        est = SVR(kernel="rbf", **params)
    elif model == "rf":
        est = RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1, **params)
    elif model == "gbt":
        est = HistGradientBoostingRegressor(max_iter=200, random_state=seed, early_stopping=False, **params)
    else:
        raise ValueError(f"unknown baseline {model!r}")
    return Pipeline([("scale", StandardScaler()), ("model", est)])


def grid(model: str) -> list[dict[str, Any]]:
    g = GRIDS[model]
    return [dict(zip(g, values, strict=True)) for values in itertools.product(*g.values())]


def fit_baseline(
    model: str, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int
) -> BaselineFit:
    """Fit every grid entry on train, keep the one with the lowest val RMSE (train-only fit when no val)."""
    best: BaselineFit | None = None
    candidates = grid(model) if len(y_val) else grid(model)[:1]
    for params in candidates:
        est = make_estimator(model, params, seed).fit(x_train, y_train)
        score = float(np.sqrt(np.mean((est.predict(x_val) - y_val) ** 2))) if len(y_val) else float("nan")
        if best is None or score < best.val_rmse:
            best = BaselineFit(model, params, score, est)
    assert best is not None
    return best
