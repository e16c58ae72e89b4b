"""Metrics per group of predictions: per run, then mean ± sd over runs, and week-bootstrap intervals.

spectm's choices (docs/evaluate.md):

* a metric is computed **per run** — one (encoder seed, head seed) pair — on one split (the test
  split unless told otherwise) and then summarised over runs as mean ± sample sd (ddof 1; "—" for
  a single run). Seeds change the label subsample, the initialisations and the randomness, not
  the test rows. Under leave-one-season-out a run's test rows are the union of its folds;
* censored labels enter at the value stored in the feature store (LOD/√2) — the same value the
  models were trained on; their count is reported beside ``n``. R² and RMSE are *also* reported
  on the detected rows alone (``r2_det``, ``rmse_det``), which the substitution does not touch;
* advisory skill: for each threshold (1.6 and 6 µg/L, :data:`THRESHOLDS`) the balanced accuracy
  of "predicted ≥ threshold" and the AUC of the prediction as a score for "measured ≥ threshold".
  A censored row counts as below a threshold only when its limit of detection is at or below the
  threshold (otherwise its class is unknown and it is left out of that threshold);
* intervals are percentile bootstraps over **sampling weeks** (cluster bootstrap): samples of one
  week share the weather, the bloom stage and, on the twin, the imagery, so they are not
  independent; resampling single rows would make the interval too narrow. One draw of weeks is
  applied to every run at once (paired), so the interval describes the run-mean statistic the
  table reports; :func:`paired_difference_ci` applies the same draw to two models.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from spectm.console import log
from spectm.evaluate.schema import OPTIONAL
from spectm.regress.metrics import mae, r2, rmse

SEED_KEYS = [
    "experiment",
    "model",
    "horizon",
    "label_fraction",
    "masking",
    "tasks",
    "encoder_seed",
    "seed",
]
THRESHOLDS = (1.6, 6.0)  # µg/L microcystin: recreational-advisory levels (docs/evaluate.md)
METRICS = ["r2", "rmse", "mae", "r2_det", "rmse_det"] + [f"{m}_{t:g}" for t in THRESHOLDS for m in ("bacc", "auc")]


def week_of(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Monday-based week number since 1970 of each date (the bootstrap's cluster)."""
    d = np.asarray(pd.to_datetime(dates).to_numpy("datetime64[D]")).astype(np.int64)
    return (d + 3) // 7  # 1970-01-01 was a Thursday


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney, ties count ½); NaN without both classes."""
    y = np.asarray(y, bool)
    pos, neg = score[y], score[~y]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    ranks = pd.Series(np.concatenate([pos, neg])).rank(method="average").to_numpy()
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def balanced_accuracy(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean of sensitivity and specificity; NaN without both classes."""
    y, yhat = np.asarray(y, bool), np.asarray(yhat, bool)
    if y.all() or not y.any():
        return float("nan")
    return float((yhat[y].mean() + (~yhat[~y]).mean()) / 2)


def threshold_skill(
    y_true: np.ndarray, y_pred: np.ndarray, censored: np.ndarray, threshold: float
) -> tuple[float, float, int]:
    """(balanced accuracy, AUC, rows measured ≥ threshold) at ``threshold`` µg/L (labels in log10)."""
    t = np.log10(threshold)
    lod = 10.0 ** np.asarray(y_true, float) * np.sqrt(2.0)  # a censored label is stored at LOD/√2
    known = ~np.asarray(censored, bool) | (lod <= threshold * (1 + 1e-9))
    y = np.asarray(y_true, float)[known] >= t
    p = np.asarray(y_pred, float)[known]
    return balanced_accuracy(y, p >= t), auc(y, p), int(y.sum())


def row_metrics(y_true: np.ndarray, y_pred: np.ndarray, censored: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` (plus detected and exceedance counts) for one set of rows."""
    det = ~np.asarray(censored, bool)
    out = {
        "r2": r2(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "n_detected": int(det.sum()),
        "r2_det": r2(y_true[det], y_pred[det]) if det.sum() >= 2 else float("nan"),
        "rmse_det": rmse(y_true[det], y_pred[det]) if det.any() else float("nan"),
    }
    for t in THRESHOLDS:
        out[f"bacc_{t:g}"], out[f"auc_{t:g}"], out[f"n_exceed_{t:g}"] = threshold_skill(y_true, y_pred, censored, t)
    return out


def per_seed(pred: pd.DataFrame, split: str = "test", keys: Sequence[str] = SEED_KEYS) -> pd.DataFrame:
    """Every metric, n, n_censored and n_train per group × run on one split.

    ``n_train`` is the mean over folds under leave-one-season-out (one value otherwise).
    """

    rows = []
    sub = pred[pred["split"] == split]
    sub = sub.assign(**{c: v for c, v in OPTIONAL.items() if c not in sub.columns})
    for key, g in sub.groupby(list(keys), sort=False, dropna=False):
        yt, yp = g["y_true"].to_numpy(float), g["y_pred"].to_numpy(float)
        cen = g["censored"].to_numpy(bool)
        n_train = g.groupby("fold")["n_train"].first().mean() if "fold" in g else g["n_train"].iloc[0]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n": len(g),
                "n_censored": int(cen.sum()),
                "n_train": float(n_train),
                **row_metrics(yt, yp, cen),
            }
        )
    extra = ["n_detected"] + [f"n_exceed_{t:g}" for t in THRESHOLDS]
    return pd.DataFrame(rows, columns=[*keys, "n", "n_censored", "n_train", *extra, *METRICS])


def summarise(seeds: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean and sd (ddof 1) over runs of each metric, per group of ``keys``."""
    aggs: dict[str, tuple[str, str]] = {
        "runs": ("seed", "size"),
        "seeds": ("seed", "nunique"),
        "encoders": ("encoder_seed", "nunique"),
        "n": ("n", "max"),
        "n_min": ("n", "min"),
        "n_censored": ("n_censored", "max"),
        "n_detected": ("n_detected", "max"),
        "n_train": ("n_train", "mean"),
    }
    for t in THRESHOLDS:
        aggs[f"n_exceed_{t:g}"] = (f"n_exceed_{t:g}", "max")
    for m in METRICS:
        aggs[f"{m}_mean"] = (m, "mean")
        aggs[f"{m}_sd"] = (m, "std")
    if seeds.empty:
        return pd.DataFrame(columns=[*keys, *aggs])
    with warnings.catch_warnings():  # all-NaN metrics (a threshold no row reaches) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return seeds.groupby(list(keys), sort=False, dropna=False).agg(**aggs).reset_index()


def r2_weighted(y_true: np.ndarray, y_pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted R² along the last axis: a row of weight k counts as k copies (a bootstrap draw)."""
    sw = np.sum(w, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.sum(w * y_true, axis=-1, keepdims=True) / sw
        ss_res = np.sum(w * (y_true - y_pred) ** 2, axis=-1)
        ss_tot = np.sum(w * (y_true - mean) ** 2, axis=-1)
        return np.where(ss_tot > 1e-12, 1.0 - ss_res / np.where(ss_tot > 1e-12, ss_tot, 1.0), np.nan)


def _wide(group: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """(predictions: sample × run, truth, week) of one group; runs = (encoder seed, seed)."""
    g = group.assign(
        run=group["encoder_seed"].astype(str) + "/" + group["seed"].astype(str)
        if "encoder_seed" in group
        else group["seed"].astype(str)
    )
    wide = g.pivot_table(index="sample_id", columns="run", values="y_pred", aggfunc="first")
    first = g.groupby("sample_id")[["y_true", "date"]].first().reindex(wide.index)
    return wide, first["y_true"], pd.Series(week_of(first["date"]), index=wide.index)


def _week_weights(weeks: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) row weights: how often each row's week was drawn (weeks drawn with replacement)."""
    uniq, inv = np.unique(weeks, return_inverse=True)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, uniq.size, size=(n_boot, uniq.size))
    counts = np.zeros((n_boot, uniq.size))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    return counts[:, inv]


def _interval(stat: np.ndarray, level: float) -> tuple[float, float]:
    if not np.isfinite(stat).any():
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(stat, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def _mean_r2(truth: np.ndarray, preds: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Run-mean weighted R² per resample: preds (S, n), w (B, n) → (B,)."""
    r2s = np.stack([r2_weighted(truth[None, :], p[None, :], w) for p in preds])  # (S, B)
    with warnings.catch_warnings():  # a resample of identical labels has no R² (NaN): skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(r2s, axis=0)


def _complete(wide: pd.DataFrame, what: str) -> pd.Series:
    complete = wide.notna().all(axis=1)
    if not complete.all():
        log.warning(
            "bootstrap (%s): %d of %d samples lack a prediction for some run; resampling the other %d",
            what,
            int((~complete).sum()),
            len(wide),
            int(complete.sum()),
        )
    return complete


def bootstrap_r2_ci(group: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Week-bootstrap CI of the run-mean R² of one group (rows of one split, all runs).

    Sampling weeks are drawn with replacement, the same draw for every run. Samples missing
    from some run (not expected: seeds do not change the test rows) are left out and logged.
    """
    if n_boot <= 0 or group.empty:
        return (float("nan"), float("nan"))
    wide, truth, weeks = _wide(group)
    ok = _complete(wide, "R²")
    if ok.sum() < 2 or weeks[ok].nunique() < 2:
        return (float("nan"), float("nan"))
    w = _week_weights(weeks[ok].to_numpy(), n_boot, seed)
    return _interval(_mean_r2(truth[ok].to_numpy(float), wide[ok].to_numpy(float).T, w), level)


def paired_difference_ci(
    a: pd.DataFrame, b: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float, int]:
    """(difference, CI low, CI high, n) of run-mean R²(a) − run-mean R²(b) on their common samples.

    Both groups are scored on the same rows and resampled with the same draw of weeks, so the
    interval is that of the difference itself (much narrower than two separate intervals when
    the models err on the same weeks).
    """
    wa, truth, weeks = _wide(a)
    wb, _, _ = _wide(b)
    common = wa.index.intersection(wb.index)
    wa, wb, truth, weeks = wa.loc[common], wb.loc[common], truth.loc[common], weeks.loc[common]
    ok = _complete(wa, "paired") & _complete(wb, "paired")
    n = int(ok.sum())
    if n < 2:
        return (float("nan"), float("nan"), float("nan"), n)
    yt = truth[ok].to_numpy(float)
    pa, pb = wa[ok].to_numpy(float).T, wb[ok].to_numpy(float).T
    ones = np.ones((1, n))
    diff = float(_mean_r2(yt, pa, ones)[0] - _mean_r2(yt, pb, ones)[0])
    if n_boot <= 0 or weeks[ok].nunique() < 2:
        return (diff, float("nan"), float("nan"), n)
    w = _week_weights(weeks[ok].to_numpy(), n_boot, seed)
    lo, hi = _interval(_mean_r2(yt, pa, w) - _mean_r2(yt, pb, w), level)
    return (diff, lo, hi, n)
