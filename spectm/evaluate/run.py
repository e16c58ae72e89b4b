""":func:`evaluate_run`: the ``evaluate`` stage's work and the function behind ``spectm evaluate run``.

The run id ``<pipeline>-evaluate-<key>`` hashes the ``evaluate:`` and ``regress:`` sections, the
``pretrain:`` section when the ablation runs (its variants derive from it), and the fingerprints
of the feature store and the encoder. A complete run is skipped; an interrupted one resumes from
its stored parts; a changed configuration or input makes a new run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from spectm import __version__
from spectm.config import Pipeline
from spectm.console import log, print_table
from spectm.contract import StageResult
from spectm.errors import DataNotFoundError
from spectm.evaluate.protocol import FitPredict, combinations, describe, run_protocol
from spectm.evaluate.report import Report, build_report, write_settings
from spectm.evaluate.reuse import reuse_regress_fits
from spectm.evaluate.tables import ReportSettings, best_models
from spectm.evaluate.variants import (
    Variant,
    ensure_variant,
    variant_run_id,
    variant_section,
    variants,
)
from spectm.join.store import CHIPS, MATCHUPS, store_dir
from spectm.provenance import file_fingerprint, git_commit, is_complete, mark_complete, stage_run_id
from spectm.runs import resolve_pretrain_run, run_path


def features_name(pipeline: Pipeline) -> str:
    return pipeline.evaluate.features or pipeline.regress.features


def resolve_encoder(pipeline: Pipeline, data_dir: Path) -> Path:
    """``evaluate.encoder``, else ``regress.encoder``, else the latest complete ``<pipeline>-pretrain-`` run."""

    return resolve_pretrain_run(
        data_dir,
        pipeline.name,
        pipeline.evaluate.encoder or pipeline.regress.encoder,
        setting="evaluate.encoder",
        require_complete=True,
        alternative="evaluate only baselines (evaluate.models without spectm-*)",
    )


def _features_fingerprint(data_dir: Path, name: str) -> dict[str, str]:

    store = store_dir(data_dir, name)
    if not (store / MATCHUPS).exists():
        raise DataNotFoundError(
            f"no feature store features/{name}/ in {data_dir}",
            f"run `spectm join --name {name}` (or the join stage) first",
        )
    return {"matchups": file_fingerprint(store / MATCHUPS), "chips": file_fingerprint(store / CHIPS)}


def labelled_seasons(data_dir: Path, name: str) -> list[int]:
    """The calendar years of the feature store's labelled match-ups (the folds of leave-one-season-out)."""
    import numpy as np
    import pandas as pd

    m = pd.read_parquet(store_dir(data_dir, name) / MATCHUPS, columns=["date", "label_log10"])
    lab = m[np.isfinite(m["label_log10"].to_numpy(float))]
    return sorted(int(y) for y in pd.to_datetime(lab["date"]).dt.year.unique())


@dataclass(kw_only=True)
class EvaluateResult(StageResult):
    """The evaluation run: ``done`` with its report (fits made this call and stored parts reused),
    or ``skipped`` when the run was complete (its report is not rebuilt)."""

    stage: str = "evaluate"
    run_dir: Path
    report: Report | None = None
    fitted: int = 0
    reused: int = 0

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """Fits made and reused, the best model per horizon (mean test R²), the report's path."""
        counts: dict[str, int | float] = {"fitted": self.fitted, "reused": self.reused}
        if self.skipped:
            return f"{self.run_dir.name} complete", [self.run_dir], counts
        best = ""
        if self.report is not None:
            main = self.report.tables["main"].set_index(["horizon", "model"])
            tops = [
                f"{h} {m} R² {main.at[(h, m), 'r2_mean']:.3f}"
                for h, m in best_models(self.report.tables["main"]).items()
            ]
            best = ("; best: " + ", ".join(tops)) if tops else ""
        line = (
            f"{self.run_dir.name}: {self.fitted} fits ({self.reused} reused){best}; report {self.run_dir / 'report.md'}"
        )
        return line, [self.run_dir], counts

    def print_details(self) -> None:
        """The main table (test split); nothing for a skipped run."""
        if self.report is not None:
            print_main(self.report)


def print_main(report: Report) -> None:
    """The report's main table: R² (± sd over runs, CI over weeks), RMSE, R² on detected samples."""
    main = report.tables["main"]
    rows = [
        (
            r.horizon,
            r.model,
            r.n,
            r.runs,
            f"{r.r2_mean:.3f} ± {r.r2_sd:.3f}" if r.runs > 1 else f"{r.r2_mean:.3f}",
            f"[{r.r2_ci_lo:.3f}, {r.r2_ci_hi:.3f}]",
            f"{r.rmse_mean:.3f}",
            f"{r.r2_det_mean:.3f}",
        )
        for r in main.itertuples()
    ]
    if rows:
        print_table(
            "Main results (test split)",
            ["horizon", "model", "n", "runs", "R²", "R² 95 % CI (weeks)", "RMSE", "R² detected"],
            rows,
        )


def evaluate_plan(pipeline: Pipeline, data_dir: Path) -> tuple[str, list, Path | None, dict[str, str]]:
    """(run id, combinations, main encoder or None, variant slug → pretrain run id) without fitting."""

    ev = pipeline.evaluate
    feats = features_name(pipeline)
    fingerprint = _features_fingerprint(data_dir, feats)
    combos = combinations(ev, labelled_seasons(data_dir, feats) if ev.cv == "seasons" else None)
    needs_main = any(c.needs_encoder and c.variant is None for c in combos)
    encoder = resolve_encoder(pipeline, data_dir) if needs_main else None
    # regress: keys that change a fit (not the regress stage's own model/horizon/seed lists)
    regress = pipeline.regress.model_dump(mode="json", exclude={"models", "horizons", "seed"})
    payload = {
        "evaluate": ev.model_dump(mode="json"),
        "regress": regress,
        "features": fingerprint,
        "encoder": file_fingerprint(encoder / "model.safetensors") if encoder else None,
    }
    vruns: dict[str, str] = {}
    if any(c.variant is not None for c in combos):
        payload["pretrain"] = pipeline.pretrain.model_dump(mode="json")
        for v in variants(ev.ablation):
            vruns[v.slug] = variant_run_id(pipeline, variant_section(pipeline.pretrain, v, ev.ablation), data_dir)
    return stage_run_id(pipeline.name, "evaluate", payload), combos, encoder, vruns


def evaluate_run(pipeline: Pipeline, *, data_dir: Path | str, fit_predict: FitPredict | None = None) -> EvaluateResult:
    """Run (or resume, or skip) the pipeline's evaluation; write predictions, report and complete.json.

    Returns status ``skipped`` when the run of these settings and inputs is complete, else
    ``done``. ``fit_predict`` replaces the fitting function (tests, or another regressor)."""

    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    run_id, combos, encoder, vruns = evaluate_plan(pipeline, data_dir)
    run_dir = run_path(data_dir, run_id)
    if is_complete(run_dir):
        return EvaluateResult(status="skipped", run_dir=run_dir, reused=len(combos))
    run_dir.mkdir(parents=True, exist_ok=True)
    ev = pipeline.evaluate
    resolved = {"evaluate": ev.model_dump(mode="json"), "regress": pipeline.regress.model_dump(mode="json")}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
    write_settings(run_dir, ReportSettings(split=ev.split, n_boot=ev.bootstrap, boot_seed=ev.bootstrap_seed))

    def variant_encoder(v: Variant) -> Path:
        log.info("evaluate: pretraining variant %s (masking %s, tasks %s)", vruns[v.slug], v.masking, v.tasks)
        path, reused = ensure_variant(pipeline, v, data_dir)
        log.info("evaluate: variant %s %s", path.name, "reused" if reused else "pretrained")
        return path

    reuse_regress_fits(pipeline, data_dir, run_dir, combos, encoder, features_name(pipeline))
    res = run_protocol(
        run_dir,
        combos,
        data_dir=data_dir,
        features=features_name(pipeline),
        encoder=encoder,
        params=pipeline.regress,
        variant_encoder=variant_encoder,
        fit_predict=fit_predict,
    )
    info = {
        "run_id": run_id,
        "pipeline": pipeline.name,
        "features": features_name(pipeline),
        "encoder_run": encoder.name if encoder else "",
        "variant_runs": vruns,
        "combinations": describe(combos),
        "fitted_this_call": res.fitted,
        "reused_parts": res.reused,
        "fit_seconds": res.seconds,
        "skipped_fits": res.skipped or {},
        "cv": ev.cv,
        "spectm_version": __version__,
        "git_commit": git_commit(),
    }
    (run_dir / "evaluate.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    report = build_report(run_dir)
    secs = time.perf_counter() - t0
    mark_complete(
        run_dir,
        {"stage": "evaluate", "rows": len(res.predictions), "combinations": len(combos), "seconds_last_call": secs},
    )
    return EvaluateResult(
        status="done", run_dir=run_dir, report=report, fitted=res.fitted, reused=res.reused, seconds=secs
    )
