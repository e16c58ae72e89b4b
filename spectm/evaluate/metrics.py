"""Metrics per group of predictions: per seed, then mean ± sd over seeds, and a bootstrap CI.

spectm's choices (docs/evaluate.md):

* a metric is computed **per seed** on one split (the test split unless told otherwise) and then
  summarised over seeds as mean ± sample sd (ddof 1; "—" for a single seed). Seeds change the
  label subsample, the model's initialisation and its randomness, not the test rows;
* censored labels enter at the value stored in the feature store (LOD/√2) — the same value the
  models were trained on; their count is reported beside ``n``;
* the 95 % interval of R² is a percentile bootstrap over **test samples**: one resample of the
  sample ids is applied to every seed at once (paired), R² is computed per seed and averaged, so
  the interval describes the seed-mean R² that the table reports. Labels are few (~100–150 per
  horizon, DOMAIN §7), so this interval is the honest error bar, not the sd over seeds.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spectm.console import log
from spectm.regress.metrics import mae, r2, rmse

SEED_KEYS = ["experiment", "model", "horizon", "label_fraction", "masking", "tasks", "seed"]


def per_seed(pred: pd.DataFrame, split: str = "test", keys: Sequence[str] = SEED_KEYS) -> pd.DataFrame:
    """R², RMSE, MAE, n, n_censored and n_train per group × seed on one split."""
    rows = []
    sub = pred[pred["split"] == split]
    for key, g in sub.groupby(list(keys), sort=False, dropna=False):
        yt, yp = g["y_true"].to_numpy(float), g["y_pred"].to_numpy(float)
        rows.append({**dict(zip(keys, key, strict=True)), "n": len(g), "n_censored": int(g["censored"].sum()),
                     "n_train": int(g["n_train"].iloc[0]), "r2": r2(yt, yp), "rmse": rmse(yt, yp),
                     "mae": mae(yt, yp)})
    return pd.DataFrame(rows, columns=[*keys, "n", "n_censored", "n_train", "r2", "rmse", "mae"])


def summarise(seeds: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean and sd (ddof 1) over seeds of each metric, per group of ``keys``."""
    agg = seeds.groupby(list(keys), sort=False, dropna=False).agg(
        seeds=("seed", "nunique"), n=("n", "max"), n_min=("n", "min"), n_censored=("n_censored", "max"),
        n_train=("n_train", "mean"),
        r2_mean=("r2", "mean"), r2_sd=("r2", "std"), rmse_mean=("rmse", "mean"), rmse_sd=("rmse", "std"),
        mae_mean=("mae", "mean"), mae_sd=("mae", "std"),
    )
    return agg.reset_index()


def r2_rows(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """R² = 1 − SS_res/SS_tot along the last axis (NaN where SS_tot is 0), vectorised for resamples."""
    ss_res = np.sum((y_true - y_pred) ** 2, axis=-1)
    ss_tot = np.sum((y_true - y_true.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)


def bootstrap_r2_ci(group: pd.DataFrame, n_boot: int = 1000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of the seed-mean R² of one group (rows of one split, all seeds).

    Samples are resampled by ``sample_id`` with replacement, the same draw for every seed.
    Samples missing from some seed (not expected: seeds do not change the test rows) are left
    out of the resampling and logged.
    """
    if n_boot <= 0 or group.empty:
        return (float("nan"), float("nan"))
    wide = group.pivot_table(index="sample_id", columns="seed", values="y_pred", aggfunc="first")
    truth = group.groupby("sample_id")["y_true"].first().reindex(wide.index)
    complete = wide.notna().all(axis=1)
    if not complete.all():
        log.warning("bootstrap: %d of %d samples lack a prediction for some seed; resampling the other %d",
                    int((~complete).sum()), len(wide), int(complete.sum()))
        wide, truth = wide[complete], truth[complete]
    n = len(wide)
    if n < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    yt = truth.to_numpy(float)[idx]                       # (B, n)
    preds = wide.to_numpy(float).T                        # (S, n)
    r2s = np.stack([r2_rows(yt, p[idx]) for p in preds])  # (S, B)
    with warnings.catch_warnings():  # a resample of identical labels has no R² (NaN): skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        stat = np.nanmean(r2s, axis=0)
    alpha = (1.0 - level) / 2.0
    if not np.isfinite(stat).any():
        return (float("nan"), float("nan"))
    lo, hi = np.nanquantile(stat, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))
