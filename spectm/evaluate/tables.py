"""The evaluation tables, each a pure function of the PREDICTIONS table.

``main`` (R², RMSE, MAE, detected-only R²/RMSE per horizon and model, with the ceiling and
climatology rows), ``advisory`` (skill at the advisory thresholds), ``paired`` (R² differences
between models on the same rows), ``ablation`` (masking × tasks over encoder and head seeds, and
each masking − random), ``label_efficiency`` (R² vs label fraction) and ``efficiency`` (the ratio
at the smallest fraction, or why it is missing). Every number in them is computed here from
stored predictions; :mod:`spectm.evaluate.report` only formats and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spectm.evaluate.efficiency import efficiency_ratio
from spectm.evaluate.metrics import (
    bootstrap_r2_ci,
    paired_difference_ci,
    per_seed,
    summarise,
    week_of,
)
from spectm.evaluate.schema import (
    BASELINES,
    CLIMATOLOGY,
    HORIZONS,
    REFERENCES,
    SPECTM_MODELS,
    model_sort_key,
)

RANDOM = "random"  # the masking every other strategy is compared with (masking_gain)
MIN_RATIO_LABELS = 20  # the efficiency ratio needs at least this many training labels at its fraction


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
    """Experiment ``main``: per horizon × model, every metric mean ± sd over runs, week-bootstrap CI of R²."""
    rows = pred[pred["experiment"] == "main"]
    seeds = per_seed(rows, settings.split)
    out = summarise(seeds, ["horizon", "model"])
    test = rows[rows["split"] == settings.split]
    cis = [
        bootstrap_r2_ci(test[(test["horizon"] == h) & (test["model"] == m)], settings.n_boot, settings.boot_seed)
        for h, m in zip(out["horizon"], out["model"], strict=True)
    ]
    out["r2_ci_lo"] = [c[0] for c in cis]
    out["r2_ci_hi"] = [c[1] for c in cis]
    out["weeks"] = [
        len(np.unique(week_of(test.loc[(test["horizon"] == h) & (test["model"] == m), "date"])))
        for h, m in zip(out["horizon"], out["model"], strict=True)
    ]
    return _order(out, ["horizon", "model"])


def advisory_table(main: pd.DataFrame) -> pd.DataFrame:
    """The advisory-threshold columns of the main table: exceedances, balanced accuracy and AUC per threshold."""
    keep = [c for c in main.columns if c.startswith(("n_exceed_", "bacc_", "auc_"))]
    return main[["horizon", "model", "n", *keep]].reset_index(drop=True)


def paired_table(
    pred: pd.DataFrame, settings: ReportSettings = ReportSettings(), summary: pd.DataFrame | None = None
) -> pd.DataFrame:
    """R² differences on the same test rows, with week-bootstrap intervals, per horizon.

    Pairs: every spectm model − ridge, every spectm model − the best-scoring other baseline, and
    every non-reference model − climatology (the floor). A pair needs both models in ``main``.
    ``summary``: the main table when the caller has it (else it is computed).
    """
    cols = ["horizon", "model", "reference", "n", "r2_model", "r2_reference", "diff", "ci_lo", "ci_hi"]
    main = pred[(pred["experiment"] == "main") & (pred["split"] == settings.split)]
    if main.empty:
        return pd.DataFrame(columns=cols)
    table = summary if summary is not None else main_table(pred, settings)
    out = []
    for horizon, h in main.groupby("horizon", sort=False):
        models = sorted(h["model"].unique(), key=model_sort_key)
        t = table[table["horizon"] == horizon].set_index("model")
        base = [m for m in models if m in BASELINES]
        best = max(base, key=lambda m: t.at[m, "r2_mean"] if np.isfinite(t.at[m, "r2_mean"]) else -np.inf, default=None)
        pairs = [(s, b) for s in models if s in SPECTM_MODELS for b in dict.fromkeys(["ridge", best]) if b in base]
        if CLIMATOLOGY in models:
            pairs += [(m, CLIMATOLOGY) for m in models if m not in REFERENCES]
        for a, b in pairs:
            d, lo, hi, n = paired_difference_ci(
                h[h["model"] == a], h[h["model"] == b], settings.n_boot, settings.boot_seed
            )
            out.append(
                {
                    "horizon": horizon,
                    "model": a,
                    "reference": b,
                    "n": n,
                    "r2_model": t.at[a, "r2_mean"],
                    "r2_reference": t.at[b, "r2_mean"],
                    "diff": d,
                    "ci_lo": lo,
                    "ci_hi": hi,
                }
            )
    return pd.DataFrame(out, columns=cols)


def ablation_table(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """Experiment ``ablation``: metrics per model × horizon × masking × tasks, mean ± sd over runs
    (every encoder seed × head seed)."""
    seeds = per_seed(pred[pred["experiment"] == "ablation"], settings.split)
    out = summarise(seeds, ["model", "horizon", "masking", "tasks"])
    return _order(out, ["model", "horizon", "tasks", "masking"])


def masking_gain(pred: pd.DataFrame, settings: ReportSettings = ReportSettings()) -> pd.DataFrame:
    """Each masking − random R² per model × horizon × tasks, on the same rows, with a week-bootstrap CI.

    ``diff`` is the difference of the run means (all encoder × head seeds of each cell; runs are
    paired by (encoder seed, seed) for ``gain_sd``, the sd of the per-run differences); the
    interval resamples sampling weeks with one draw for both cells.
    """
    abl = pred[(pred["experiment"] == "ablation") & (pred["split"] == settings.split)]
    seeds = per_seed(abl, settings.split)
    cols = [
        "model",
        "horizon",
        "tasks",
        "masking",
        "pairs",
        "r2",
        "random_r2",
        "gain_mean",
        "gain_sd",
        "gain_ci_lo",
        "gain_ci_hi",
    ]
    rows = []
    for (model, horizon, tasks), g in seeds.groupby(["model", "horizon", "tasks"], sort=False):
        r = g[g["masking"] == RANDOM].set_index(["encoder_seed", "seed"])["r2"]
        if r.empty:
            continue
        cell = abl[(abl["model"] == model) & (abl["horizon"] == horizon) & (abl["tasks"] == tasks)]
        for masking in [m for m in dict.fromkeys(g["masking"]) if m != RANDOM]:
            t = g[g["masking"] == masking].set_index(["encoder_seed", "seed"])["r2"]
            common = t.index.intersection(r.index)
            d = t[common] - r[common]
            diff, lo, hi, _ = paired_difference_ci(
                cell[cell["masking"] == masking], cell[cell["masking"] == RANDOM], settings.n_boot, settings.boot_seed
            )
            rows.append(
                {
                    "model": model,
                    "horizon": horizon,
                    "tasks": tasks,
                    "masking": masking,
                    "pairs": len(common),
                    "r2": float(t.mean()),
                    "random_r2": float(r.mean()),
                    "gain_mean": diff,
                    "gain_sd": float(d.std()) if len(d) > 1 else float("nan"),
                    "gain_ci_lo": lo,
                    "gain_ci_hi": hi,
                }
            )
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
    out = summarise(seeds, ["model", "horizon", "label_fraction"])
    return _order(out, ["horizon", "model", "label_fraction"])


def efficiency_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The label-efficiency ratio at the smallest fraction, per horizon × spectm model — or why it is missing.

    A ratio of R² values near or below zero says nothing (a curve crossing −0.3 is no skill at
    all), so it is computed only where the spectm model's R² at the smallest fraction is > 0, it
    was trained on at least :data:`MIN_RATIO_LABELS` labels there, and at least one baseline's
    R² at that fraction is > 0 (only such baselines compete). Otherwise ``missing`` says why.
    """
    cols = [
        "horizon",
        "model",
        "fraction",
        "n_train",
        "r2",
        "best_baseline",
        "baseline_r2",
        "baseline_fraction",
        "ratio",
        "bound",
        "r2_ratio",
        "missing",
    ]
    rows = []
    for horizon, h in curves.groupby("horizon", sort=False):
        if h["label_fraction"].nunique() < 2:  # no curve: the main experiment alone
            continue
        f0 = float(h["label_fraction"].min())
        at = h[h["label_fraction"] == f0].set_index("model")
        base = {
            m: (g["label_fraction"].to_numpy(), g["r2_mean"].to_numpy())
            for m, g in h[h["model"].isin(BASELINES)].groupby("model", sort=False)
            if m in at.index and at.at[m, "r2_mean"] > 0
        }  # a curve must start above 0 at the smallest fraction
        base = dict(sorted(base.items(), key=lambda kv: model_sort_key(kv[0])))
        for model in dict.fromkeys(h.loc[h["model"].isin(SPECTM_MODELS), "model"]):
            if model not in at.index:
                continue
            s, n = float(at.at[model, "r2_mean"]), float(at.at[model, "n_train"])
            row = {
                "horizon": horizon,
                "model": model,
                "fraction": f0,
                "n_train": n,
                "r2": s,
                "best_baseline": "",
                "baseline_r2": float("nan"),
                "baseline_fraction": float("nan"),
                "ratio": float("nan"),
                "bound": "",
                "r2_ratio": float("nan"),
                "missing": "",
            }
            if n < MIN_RATIO_LABELS:
                row["missing"] = f"{n:.0f} training labels at {f0 * 100:g} % (< {MIN_RATIO_LABELS})"
            elif not (np.isfinite(s) and s > 0):
                row["missing"] = f"{model} R² {s:.3f} ≤ 0 at {f0 * 100:g} %"
            elif not base:
                row["missing"] = f"no baseline has R² > 0 at {f0 * 100:g} %"
            else:
                name, ratio, bound = efficiency_ratio(s, f0, base)
                bf, br = base[name]
                b_r2 = float(br[bf == f0][0])
                row.update(
                    best_baseline=name,
                    baseline_r2=b_r2,
                    baseline_fraction=ratio * f0,
                    ratio=ratio,
                    bound=bound,
                    r2_ratio=s / b_r2,
                )
            rows.append(row)
    return _order(pd.DataFrame(rows, columns=cols), ["horizon", "model"])


def best_models(main: pd.DataFrame) -> dict[str, str]:
    """Per horizon, the model with the highest mean R² in the main table (reference rows excluded)."""
    models = main[~main["model"].isin(REFERENCES)]
    return {
        h: str(g.loc[g["r2_mean"].astype(float).idxmax(), "model"])
        for h, g in models.groupby("horizon", sort=False)
        if g["r2_mean"].notna().any()
    }
