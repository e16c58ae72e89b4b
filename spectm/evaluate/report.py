"""Write the evaluation report of a run directory from its stored predictions only.

``build_report(run_dir)`` reads ``predictions.parquet`` (and ``report_settings.json`` when the
run wrote one), computes every table (:mod:`spectm.evaluate.tables`), and writes
``tables/<name>.md`` + ``.csv``, ``figures/*.png`` and ``report.md``. Nothing else is read, so
``spectm evaluate report RUN_DIR`` on a copied run rebuilds the same tables byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from spectm.evaluate import plots, tables
from spectm.evaluate.report_md import (
    md_ablation,
    md_advisory,
    md_efficiency,
    md_gain,
    md_label_efficiency,
    md_main,
    md_paired,
    pm,
)
from spectm.evaluate.schema import read_predictions

SETTINGS_FILE = "report_settings.json"
PREDICTIONS_FILE = "predictions.parquet"


@dataclass
class Report:
    run_dir: Path
    tables: dict[str, pd.DataFrame]
    markdown: dict[str, str]
    figures: list[Path] = field(default_factory=list)
    rows: int = 0


def load_settings(run_dir: Path, settings: tables.ReportSettings | None) -> tables.ReportSettings:
    if settings is not None:
        return settings
    path = run_dir / SETTINGS_FILE
    if path.exists():
        return tables.ReportSettings(**json.loads(path.read_text(encoding="utf-8")))
    return tables.ReportSettings()


def write_settings(run_dir: Path, settings: tables.ReportSettings) -> None:
    (Path(run_dir) / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")


def compute_tables(pred: pd.DataFrame, settings: tables.ReportSettings) -> dict[str, pd.DataFrame]:
    curves = tables.label_efficiency_table(pred, settings)
    main = tables.main_table(pred, settings)
    return {
        "main": main,
        "advisory": tables.advisory_table(main),
        "paired": tables.paired_table(pred, settings, main),
        "ablation": tables.ablation_table(pred, settings),
        "masking_gain": tables.masking_gain(pred, settings),
        "label_efficiency": curves,
        "efficiency": tables.efficiency_table(curves),
    }


_FORMATTERS = {
    "main": md_main,
    "advisory": md_advisory,
    "paired": md_paired,
    "ablation": md_ablation,
    "masking_gain": md_gain,
    "label_efficiency": md_label_efficiency,
    "efficiency": md_efficiency,
}


def build_report(run_dir: Path, settings: tables.ReportSettings | None = None, out_dir: Path | None = None) -> Report:
    """Compute every table and figure from ``run_dir/predictions.parquet``; write them under ``out_dir``.

    ``out_dir`` defaults to ``run_dir`` (``report.md``, ``tables/``, ``figures/``).
    """
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir
    settings = load_settings(run_dir, settings)
    pred = read_predictions(run_dir / PREDICTIONS_FILE)
    tabs = compute_tables(pred, settings)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    md: dict[str, str] = {}
    for name, t in tabs.items():
        md[name] = _FORMATTERS[name](t) if not t.empty else "*(no rows: this experiment was not run)*\n"
        (out / "tables" / f"{name}.md").write_text(md[name], encoding="utf-8")
        t.to_csv(out / "tables" / f"{name}.csv", index=False, float_format="%.6g")
    figures = _figures(pred, tabs, settings, out / "figures")
    report = Report(out, tabs, md, figures, len(pred))
    (out / "report.md").write_text(_report_md(run_dir, pred, report, settings), encoding="utf-8")
    return report


def _figures(
    pred: pd.DataFrame, tabs: dict[str, pd.DataFrame], settings: tables.ReportSettings, fig_dir: Path
) -> list[Path]:
    figs: list[Path] = []
    if tabs["label_efficiency"]["label_fraction"].nunique() >= 2:
        figs.append(fig_dir / "label_efficiency.png")
        plots.plot_label_efficiency(tabs["label_efficiency"], figs[-1])
    if not tabs["ablation"].empty:
        figs.append(fig_dir / "ablation.png")
        plots.plot_ablation(tabs["ablation"], figs[-1])
    main = tabs["main"]
    for horizon, model in tables.best_models(main).items():
        r = main[(main["horizon"] == horizon) & (main["model"] == model)].iloc[0]
        rows = pred[
            (pred["experiment"] == "main")
            & (pred["split"] == settings.split)
            & (pred["horizon"] == horizon)
            & (pred["model"] == model)
        ]
        figs.append(fig_dir / f"scatter_{horizon}.png")
        plots.plot_scatter(rows, model, horizon, f"R² {pm(r.r2_mean, r.r2_sd)} over {r.seeds} seed(s)", figs[-1])
    return figs


def _report_md(run_dir: Path, pred: pd.DataFrame, rep: Report, settings: tables.ReportSettings) -> str:
    info = {}
    if (run_dir / "evaluate.json").exists():
        info = json.loads((run_dir / "evaluate.json").read_text(encoding="utf-8"))
    counts = pred.groupby(["experiment", "split"]).size()
    lines = [f"# Evaluation {info.get('run_id', run_dir.name)}", ""]
    if info:
        lines += [
            f"- features: `{info.get('features', '?')}`; encoder: `{info.get('encoder_run') or '—'}`",
            f"- spectm {info.get('spectm_version', '?')}, git commit `{info.get('git_commit', '?')}`",
        ]
        for key, why in (info.get("skipped_fits") or {}).items():
            lines.append(f"- skipped fit `{key}`: {why}")
        if info.get("variant_runs"):
            lines.append("- ablation encoders: " + ", ".join(f"{k} `{v}`" for k, v in info["variant_runs"].items()))
    lines += [
        f"- {len(pred)} prediction rows ("
        + ", ".join(f"{e}/{s} {n}" for (e, s), n in counts.items())
        + f"); metrics on the **{settings.split}** split, per run (encoder seed × head seed), then mean ± sd "
        "over runs",
        f"- 95 % intervals: percentile bootstrap over **sampling weeks** of the {settings.split} split "
        f"({settings.n_boot} resamples, seed {settings.boot_seed}), one draw for every run and both models of "
        "a pair — see docs/evaluate.md",
        "- censored labels at LOD/√2 in R²/RMSE/MAE; *detected* columns use the detected rows only",
        "- every number below is computed from `predictions.parquet` (`spectm evaluate report` rebuilds it)",
    ]
    folds = sorted(f for f in pred["fold"].unique() if f)
    if folds:
        lines.append(
            f"- leave-one-season-out: {len(folds)} folds ({', '.join(folds)}); every test row was predicted "
            "by a model that never saw its season"
        )
    lines += [
        "",
        "## Main results (all labels)",
        "",
        "Reference rows: `ceiling-*` are the regressors fitted on the *measured* chlorophyll-a (+ phycocyanin) "
        "of the same match-ups (the most imagery carrying those pigments can give); `climatology` is the "
        "train mean per week of the year (the least any model must beat).",
        "",
        rep.markdown["main"],
        "",
        "### Advisory thresholds (measured ≥ 1.6 and ≥ 6 µg/L)",
        "",
        rep.markdown["advisory"],
        "",
        "### Paired differences (same rows, week bootstrap)",
        "",
        rep.markdown["paired"],
    ]
    for h in tables.best_models(rep.tables["main"]):
        lines += [f"![predicted vs observed, {h}](figures/scatter_{h}.png)", ""]
    lines += [
        "## Ablation: masking strategy × pretraining tasks",
        "",
        rep.markdown["ablation"],
        "",
        "Each masking − random, on the same rows, paired by encoder and head seed (SpecTM reports +0.037 R² "
        "for targeted − random):",
        "",
        rep.markdown["masking_gain"],
        "",
    ]
    if not rep.tables["ablation"].empty:
        lines += ["![ablation](figures/ablation.png)", ""]
    lines += [
        "## Label efficiency",
        "",
        rep.markdown["label_efficiency"],
        "",
        "Efficiency ratio at the smallest label fraction (spectm's definition, docs/evaluate.md: how many "
        "times more labels the best baseline needs to reach the spectm model's R²; SpecTM reports 2.2× at 5 %):",
        "",
        rep.markdown["efficiency"],
        "",
    ]
    if rep.tables["label_efficiency"]["label_fraction"].nunique() >= 2:
        lines += ["![label efficiency](figures/label_efficiency.png)", ""]
    return "\n".join(lines)
