"""The evaluation tables, each a pure function of the PREDICTIONS table.

``main`` (R², RMSE, MAE per horizon and model), ``ablation`` (masking × tasks, and the
targeted − random gain), ``label_efficiency`` (R² vs label fraction) and ``efficiency`` (the
ratio at the smallest fraction). Every number in them is computed here from stored
predictions; :mod:`spectm.evaluate.report` only formats and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spectm.evaluate.efficiency import efficiency_ratio
from spectm.evaluate.metrics import bootstrap_r2_ci, per_seed, summarise
from spectm.evaluate.schema import BASELINES, HORIZONS, SPECTM_MODELS, model_sort_key

TARGETED, RANDOM = "spectral-targeted", "random"


@dataclass(frozen=True)
class ReportSettings:
    """How the tables are computed (stored with a run so a rebuild gives the same bytes)."""

    split: str = "test"
    n_boot: int = 1000
    boot_seed: int = 0


def _horizon_key(h: pd.Series) -> pd.Series:
    return h.map(lambda v: (HORIZONS.index(v), "") if v in HORIZONS else (len(HORIZONS), v))


def _order(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    def key(s: pd.Series) -> pd.Series:
        if s.name == "model":
            return s.map(model_sort_key)
        if s.name == "horizon":
            return _horizon_key(s)
        return s

    return df.sort_values(cols, key=key, kind="stable").reset_index(drop=True)


def main_table(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """Experiment ``main``: per horizon × model, metrics mean ± sd over seeds, bootstrap CI of R²."""
    rows = pred[pred["experiment"] == "main"]
    seeds = per_seed(rows, settings.split)
    if seeds.empty:
        return pd.DataFrame(columns=["horizon", "model", "seeds", "n", "n_censored", "n_train", "r2_mean",
                                     "r2_sd", "r2_ci_lo", "r2_ci_hi", "rmse_mean", "rmse_sd", "mae_mean",
                                     "mae_sd"])
    out = summarise(seeds, ["horizon", "model"])
    test = rows[rows["split"] == settings.split]
    cis = [bootstrap_r2_ci(test[(test["horizon"] == h) & (test["model"] == m)], settings.n_boot,
                           settings.boot_seed) for h, m in zip(out["horizon"], out["model"], strict=True)]
    out["r2_ci_lo"] = [c[0] for c in cis]
    out["r2_ci_hi"] = [c[1] for c in cis]
    return _order(out, ["horizon", "model"])


def ablation_table(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """Experiment ``ablation``: R² (and RMSE) per model × horizon × masking × tasks, mean ± sd over seeds."""
    seeds = per_seed(pred[pred["experiment"] == "ablation"], settings.split)
    if seeds.empty:
        return pd.DataFrame(columns=["model", "horizon", "masking", "tasks", "seeds", "n", "r2_mean", "r2_sd",
                                     "rmse_mean", "rmse_sd"])
    out = summarise(seeds, ["model", "horizon", "masking", "tasks"])
    return _order(out, ["model", "horizon", "tasks", "masking"])


def masking_gain(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """Targeted − random R² per model × horizon × tasks, paired by seed (SpecTM: +0.037).

    Only seeds present in both cells enter; their number is the ``pairs`` column.
    """
    seeds = per_seed(pred[pred["experiment"] == "ablation"], settings.split)
    cols = ["model", "horizon", "tasks", "pairs", "targeted_r2", "random_r2", "gain_mean", "gain_sd"]
    if seeds.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (model, horizon, tasks), g in seeds.groupby(["model", "horizon", "tasks"], sort=False):
        t = g[g["masking"] == TARGETED].set_index("seed")["r2"]
        r = g[g["masking"] == RANDOM].set_index("seed")["r2"]
        common = t.index.intersection(r.index)
        if len(common) == 0:
            continue
        d = t[common] - r[common]
        rows.append({"model": model, "horizon": horizon, "tasks": tasks, "pairs": len(common),
                     "targeted_r2": float(t[common].mean()), "random_r2": float(r[common].mean()),
                     "gain_mean": float(d.mean()), "gain_sd": float(d.std()) if len(d) > 1 else float("nan")})
    return _order(pd.DataFrame(rows, columns=cols), ["model", "horizon", "tasks"])


def label_efficiency_table(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """R² mean ± sd per model × horizon × label fraction.

    Rows of experiment ``label_efficiency``, plus the ``main`` rows of the same models and horizons
    (the 100 % point is the main experiment, not trained twice). Models without label-efficiency
    rows have no curve and are left out.
    """
    le = pred[pred["experiment"] == "label_efficiency"]
    curves = set(zip(le["model"], le["horizon"], strict=True))
    main = pred[pred["experiment"] == "main"]
    main = main[[mh in curves for mh in zip(main["model"], main["horizon"], strict=True)]]
    seeds = per_seed(pd.concat([le, main]), settings.split)
    if seeds.empty:
        return pd.DataFrame(columns=["model", "horizon", "label_fraction", "seeds", "n", "n_train", "r2_mean",
                                     "r2_sd"])
    out = summarise(seeds, ["model", "horizon", "label_fraction"])
    return _order(out, ["horizon", "model", "label_fraction"])


def efficiency_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The label-efficiency ratio at the smallest fraction, per horizon × spectm model."""
    cols = ["horizon", "model", "fraction", "r2", "best_baseline", "baseline_r2", "baseline_fraction",
            "ratio", "bound", "r2_ratio"]
    rows = []
    for horizon, h in curves.groupby("horizon", sort=False):
        if h["label_fraction"].nunique() < 2:  # no curve: the main experiment alone
            continue
        f0 = float(h["label_fraction"].min())
        base = {m: (g["label_fraction"].to_numpy(), g["r2_mean"].to_numpy())
                for m, g in h[h["model"].isin(BASELINES)].groupby("model", sort=False)
                if (g["label_fraction"] == f0).any()}  # a curve must start at the smallest fraction
        base = dict(sorted(base.items(), key=lambda kv: model_sort_key(kv[0])))
        for model, g in h[h["model"].isin(SPECTM_MODELS)].groupby("model", sort=False):
            at0 = g[g["label_fraction"] == f0]["r2_mean"]
            if at0.empty or not np.isfinite(at0.iloc[0]) or not base:
                continue
            s = float(at0.iloc[0])
            try:
                name, ratio, bound = efficiency_ratio(s, f0, base)
            except ValueError:
                continue
            bf, br = base[name]
            b0 = br[bf == f0]
            b_r2 = float(b0[0]) if len(b0) else float("nan")
            rows.append({"horizon": horizon, "model": model, "fraction": f0, "r2": s, "best_baseline": name,
                         "baseline_r2": b_r2, "baseline_fraction": ratio * f0, "ratio": ratio, "bound": bound,
                         "r2_ratio": s / b_r2 if np.isfinite(b_r2) and b_r2 > 0 else float("nan")})
    return _order(pd.DataFrame(rows, columns=cols), ["horizon", "model"])


def best_models(main: pd.DataFrame) -> dict[str, str]:
    """Per horizon, the model with the highest mean R² in the main table."""
    return {h: str(g.loc[g["r2_mean"].idxmax(), "model"]) for h, g in main.groupby("horizon", sort=False)
            if g["r2_mean"].notna().any()}
