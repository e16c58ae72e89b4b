"""The evaluation figures (PNG, matplotlib Agg), drawn from the tables and the stored predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spectm.evaluate.schema import SPECTM_MODELS, model_sort_key


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_label_efficiency(curves: pd.DataFrame, out: Path) -> None:
    """R² vs label fraction (log x) per model, one panel per horizon, ± sd bands over seeds."""
    plt = _plt()
    horizons = list(dict.fromkeys(curves["horizon"]))
    fig, axes = plt.subplots(
        1, max(1, len(horizons)), figsize=(5.5 * max(1, len(horizons)), 4.2), squeeze=False, sharey=True
    )
    for ax, horizon in zip(axes[0], horizons, strict=False):
        h = curves[curves["horizon"] == horizon]
        for model in sorted(h["model"].unique(), key=model_sort_key):
            g = h[h["model"] == model].sort_values("label_fraction")
            x = g["label_fraction"].to_numpy() * 100
            y, sd = g["r2_mean"].to_numpy(float), np.nan_to_num(g["r2_sd"].to_numpy(float))
            style = "-" if model in SPECTM_MODELS else "--"
            (line,) = ax.plot(x, y, style, marker="o", ms=4, label=model)
            ax.fill_between(x, y - sd, y + sd, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_xscale("log")
        ticks = sorted(h["label_fraction"].unique() * 100)
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel("labelled training samples (%)")
        ax.set_title(f"horizon: {horizon}")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test R² (mean ± sd over seeds)")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_scatter(rows: pd.DataFrame, model: str, horizon: str, r2_text: str, out: Path) -> None:
    """Predicted vs observed log10 microcystin for one model/horizon; censored labels hollow.

    A point is one test sample; its prediction is the mean over seeds (the metrics are per seed).
    """
    plt = _plt()
    g = rows.groupby("sample_id").agg(
        y_true=("y_true", "first"), y_pred=("y_pred", "mean"), censored=("censored", "first")
    )
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    unc, cen = g[~g["censored"]], g[g["censored"]]
    ax.scatter(unc["y_true"], unc["y_pred"], s=18, c="C0", label=f"measured (n={len(unc)})")
    ax.scatter(
        cen["y_true"],
        cen["y_pred"],
        s=22,
        facecolors="none",
        edgecolors="C3",
        label=f"censored, at LOD/√2 (n={len(cen)})",
    )
    lo = float(np.nanmin([g["y_true"].min(), g["y_pred"].min()])) - 0.1
    hi = float(np.nanmax([g["y_true"].max(), g["y_pred"].max()])) + 0.1
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="1:1")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("observed log10 microcystin (µg/L)")
    ax.set_ylabel("predicted log10 microcystin (µg/L)")
    ax.set_title(f"{model}, {horizon} — {r2_text}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_ablation(ablation: pd.DataFrame, out: Path) -> None:
    """Bar chart of the ablation: R² per masking × tasks cell, one group per model/horizon."""
    plt = _plt()
    groups = list(dict.fromkeys(zip(ablation["model"], ablation["horizon"], strict=True)))
    cells = list(dict.fromkeys(zip(ablation["masking"], ablation["tasks"], strict=True)))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(groups) * max(1, len(cells)) / 2), 4.0))
    width = 0.8 / max(1, len(cells))
    for j, (masking, tasks) in enumerate(cells):
        ys, sds = [], []
        for model, horizon in groups:
            r = ablation[
                (ablation["model"] == model)
                & (ablation["horizon"] == horizon)
                & (ablation["masking"] == masking)
                & (ablation["tasks"] == tasks)
            ]
            ys.append(float(r["r2_mean"].iloc[0]) if len(r) else np.nan)
            sds.append(float(r["r2_sd"].iloc[0]) if len(r) and np.isfinite(r["r2_sd"].iloc[0]) else 0.0)
        x = np.arange(len(groups)) + (j - (len(cells) - 1) / 2) * width
        ax.bar(x, ys, width, yerr=sds, capsize=3, label=f"{masking} · {tasks}")
    ax.set_xticks(np.arange(len(groups)))
    ax.set_xticklabels([f"{m}\n{h}" for m, h in groups], fontsize=8)
    ax.set_ylabel("test R² (mean ± sd over seeds)")
    ax.set_title("ablation: masking strategy × pretraining tasks")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
