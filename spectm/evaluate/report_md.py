"""The evaluation tables as Markdown: one formatter per table, numbers rounded for reading.

The CSV next to each Markdown table keeps full precision; these formatters only decide what a
reader sees (mean ± sd over seeds, n per cell, the advisory threshold hit rates as percents).
"""

from __future__ import annotations

import math

import pandas as pd

from spectm.evaluate.metrics import THRESHOLDS


def _f(v: float, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    text = f"{v:.{nd}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def pm(mean: float, sd: float, nd: int = 3) -> str:
    """``mean ± sd`` (just the mean when sd is NaN: one seed)."""
    return f"{_f(mean, nd)} ± {_f(sd, nd)}" if not (isinstance(sd, float) and math.isnan(sd)) else _f(mean, nd)


def _pct(f: float) -> str:
    return f"{f * 100:g} %"


def _md(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def md_main(t: pd.DataFrame) -> str:
    rows = [
        [
            r.horizon,
            r.model,
            f"{r.n} ({r.n_censored})",
            r.weeks,
            _runs(r),
            f"{r.n_train:.0f}",
            pm(r.r2_mean, r.r2_sd),
            f"[{_f(r.r2_ci_lo)}, {_f(r.r2_ci_hi)}]",
            pm(r.rmse_mean, r.rmse_sd),
            pm(r.mae_mean, r.mae_sd),
            pm(r.r2_det_mean, r.r2_det_sd),
            pm(r.rmse_det_mean, r.rmse_det_sd),
        ]
        for r in t.itertuples()
    ]
    return _md(
        [
            "horizon",
            "model",
            "n test (censored)",
            "test weeks",
            "runs",
            "n train",
            "R² (mean ± sd)",
            "R² 95 % CI (week bootstrap)",
            "RMSE (log10 µg/L)",
            "MAE (log10 µg/L)",
            "R² detected",
            "RMSE detected",
        ],
        rows,
    )


def _runs(r: object) -> str:
    """Runs of a row: head seeds, and encoder seeds when there are several."""
    enc = int(getattr(r, "encoders", 1))
    seeds = int(getattr(r, "seeds", 1))
    return f"{seeds}" if enc <= 1 else f"{enc} enc × {seeds}"


def md_advisory(t: pd.DataFrame) -> str:

    rows = []
    for r in t.to_dict("records"):
        row = [r["horizon"], r["model"], r["n"]]
        for th in THRESHOLDS:
            k = f"{th:g}"
            row += [
                r[f"n_exceed_{k}"],
                pm(r[f"bacc_{k}_mean"], r[f"bacc_{k}_sd"]),
                pm(r[f"auc_{k}_mean"], r[f"auc_{k}_sd"]),
            ]
        rows.append(row)
    head = ["horizon", "model", "n test"]
    for th in THRESHOLDS:
        head += [f"n ≥ {th:g}", f"bal. acc. ≥ {th:g} µg/L", f"AUC ≥ {th:g} µg/L"]
    return _md(head, rows)


def md_paired(t: pd.DataFrame) -> str:
    rows = [
        [
            r.horizon,
            r.model,
            r.reference,
            r.n,
            _f(r.r2_model),
            _f(r.r2_reference),
            _f(r.diff),
            f"[{_f(r.ci_lo)}, {_f(r.ci_hi)}]",
        ]
        for r in t.itertuples()
    ]
    return _md(
        [
            "horizon",
            "model",
            "minus",
            "n (same rows)",
            "R² model",
            "R² minus",
            "difference",
            "95 % CI (week bootstrap)",
        ],
        rows,
    )


def md_ablation(t: pd.DataFrame) -> str:
    rows = [
        [
            r.model,
            r.horizon,
            r.masking,
            r.tasks,
            _runs(r),
            r.n,
            pm(r.r2_mean, r.r2_sd),
            pm(r.rmse_mean, r.rmse_sd),
            pm(r.r2_det_mean, r.r2_det_sd),
        ]
        for r in t.itertuples()
    ]
    return _md(
        ["model", "horizon", "masking", "pretraining tasks", "runs", "n test", "R² (mean ± sd)", "RMSE", "R² detected"],
        rows,
    )


def md_gain(t: pd.DataFrame) -> str:
    rows = [
        [
            r.model,
            r.horizon,
            r.tasks,
            r.masking,
            r.pairs,
            _f(r.r2),
            _f(r.random_r2),
            pm(r.gain_mean, r.gain_sd),
            f"[{_f(r.gain_ci_lo)}, {_f(r.gain_ci_hi)}]",
        ]
        for r in t.itertuples()
    ]
    return _md(
        [
            "model",
            "horizon",
            "pretraining tasks",
            "masking",
            "run pairs",
            "R² masking",
            "R² random",
            "difference (± sd over paired runs)",
            "95 % CI (week bootstrap)",
        ],
        rows,
    )


def md_label_efficiency(t: pd.DataFrame) -> str:
    fractions = sorted(t["label_fraction"].unique())
    rows = []
    for (horizon, model), g in t.groupby(["horizon", "model"], sort=False):
        by = g.set_index("label_fraction")
        rows.append(
            [horizon, model] + [pm(by.at[f, "r2_mean"], by.at[f, "r2_sd"]) if f in by.index else "—" for f in fractions]
        )
    for horizon, g in t.groupby("horizon", sort=False):
        n = g.groupby("label_fraction")["n_train"].median()
        rows.append([horizon, "*n train (median)*"] + [f"{n[f]:.0f}" if f in n.index else "—" for f in fractions])
    return _md(["horizon", "model", *[_pct(f) for f in fractions]], rows)


def _ratio(r: pd.Series) -> str:
    sign = {"=": "", "<=": "≤ ", ">": "> "}[r.bound]
    return f"{sign}{r.ratio:.2f}×"


def md_efficiency(t: pd.DataFrame) -> str:
    rows = []
    for r in t.itertuples():
        if r.missing:
            rows.append([r.horizon, r.model, _pct(r.fraction), _f(r.r2), "—", "—", "—", f"missing: {r.missing}", "—"])
            continue
        rows.append(
            [
                r.horizon,
                r.model,
                _pct(r.fraction),
                _f(r.r2),
                r.best_baseline,
                _f(r.baseline_r2),
                ("≤ " if r.bound == "<=" else "> " if r.bound == ">" else "") + _pct(round(r.baseline_fraction, 4)),
                _ratio(r),
                _f(r.r2_ratio, 2) + "×" if not math.isnan(r.r2_ratio) else "—",
            ]
        )
    return _md(
        [
            "horizon",
            "spectm model",
            "labels",
            "R²",
            "best baseline",
            "its R² at the same labels",
            "labels it needs to match",
            "efficiency ratio",
            "R² ratio",
        ],
        rows,
    )


__all__ = [
    "md_ablation",
    "md_advisory",
    "md_efficiency",
    "md_gain",
    "md_label_efficiency",
    "md_main",
    "md_paired",
    "pm",
]
