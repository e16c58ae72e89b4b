"""``regress_run``: the regress stage's work — every configured model × horizon, one run dir.

``runs/<pipeline>-regress-<key>/`` (docs/data-layout.md):

* ``config.yaml`` — the resolved ``regress:`` section; ``inputs.json`` — feature store, encoder
  run and their fingerprints;
* ``parts/<model>_<horizon>.parquet`` (+ ``.json``: seconds, row counts, chosen
  hyperparameters) — one fit each, written atomically; a rerun of an interrupted run skips the
  fits whose parquet exists (resume);
* ``predictions.parquet`` — all parts (the PREDICTIONS table); ``metrics.csv`` / ``metrics.md`` —
  R², RMSE, MAE per model × horizon on the test (and val) split, computed from that file;
* ``regressor/<model>_<horizon>/`` — the torch models' artefacts;
* ``complete.json`` — written last.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from spectm.config import SPECTM_MODELS as TORCH_MODELS
from spectm.config import RegressSection
from spectm.console import log, print_table
from spectm.contract import StageResult
from spectm.errors import DataNotFoundError
from spectm.join.store import _require
from spectm.provenance import atomic_write, file_fingerprint, is_complete, mark_complete, read_complete
from spectm.provenance import stage_run_id as _stage_run_id
from spectm.regress.api import fit_predict
from spectm.regress.data import NoChipsError
from spectm.regress.metrics import scores
from spectm.runs import resolve_pretrain_run, run_path


@dataclass(kw_only=True)
class RegressResult(StageResult):
    """The run's metrics, fitted this call (``done``, fit by fit, reusing the parts an
    interrupted call left) or found complete (``skipped``)."""

    stage: str = "regress"
    run_dir: Path
    metrics: pd.DataFrame
    horizons: list[str] = field(default_factory=list)  # configured; one without test match-ups is named
    fitted: int = 0
    reused: int = 0
    notes: dict[str, str] = field(default_factory=dict)  # "<model>_<horizon>" -> why skipped / how fitted

    def notes_line(self) -> str:
        """One line naming the fits that were skipped or fitted differently, and why."""
        return "; ".join(f"{k}: {v}" for k, v in sorted(self.notes.items()))

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """The best test R² per horizon (or ``complete``), horizons without test match-ups, notes."""
        test = self.metrics[self.metrics["split"] == "test"]
        best = test.sort_values("r2", ascending=False).groupby("horizon").head(1)
        if self.skipped:
            line = f"{self.run_dir.name} complete"
        else:
            line = f"{self.run_dir.name}: " + "; ".join(
                f"{r.horizon}: best {r.model} R² {r.r2:.3f}" for r in best.itertuples()
            )
            no_test = [h for h in self.horizons if h not in set(best["horizon"])]
            if no_test:
                line += f"; no test match-ups for {', '.join(no_test)}"
        if self.notes:
            line += f"; {self.notes_line()}"
        return line, [self.run_dir], {"fitted": self.fitted, "reused": self.reused, "notes": len(self.notes)}

    def print_details(self) -> None:
        """R², RMSE and MAE of every model × horizon on the test split."""
        test = self.metrics[self.metrics["split"] == "test"]
        print_table(
            f"Regression {self.run_dir.name} ({self.status}) — test split",
            ["horizon", "model", "R²", "RMSE", "MAE", "n"],
            [(r.horizon, r.model, r.r2, r.rmse, r.mae, r.n) for r in test.itertuples()],
        )


def resolve_encoder(cfg: RegressSection, data_dir: Path, pipeline_name: str | None) -> Path | None:
    """``regress.encoder`` (run id or directory), else the pipeline's latest complete pretrain run.

    None when no configured model needs one.
    """
    if not any(m in TORCH_MODELS for m in cfg.models):
        return None
    return resolve_pretrain_run(
        data_dir, pipeline_name, cfg.encoder, setting="regress.encoder", alternative="drop the spectm-* models"
    )


def _run_inputs(cfg: RegressSection, data_dir: Path, pipeline_name: str) -> tuple[str, Path | None, dict[str, Any]]:
    """(deterministic run id, encoder, the ``inputs.json`` record): each input fingerprinted once."""
    fdir = _require(data_dir, cfg.features)
    enc = resolve_encoder(cfg, data_dir, pipeline_name)
    enc_fp = file_fingerprint(enc / "model.safetensors") if enc else None
    payload = {
        "regress": cfg.model_dump(mode="json"),
        "matchups": file_fingerprint(fdir / "matchups.parquet"),
        "features": file_fingerprint(fdir),
        "encoder": enc_fp,
    }
    inputs = {
        "features": str(fdir.resolve()),
        "encoder": str(enc.resolve()) if enc else None,
        "encoder_fingerprint": enc_fp,
    }
    return _stage_run_id(pipeline_name, "regress", payload), enc, inputs


def regress_run_id(cfg: RegressSection, data_dir: Path, pipeline_name: str) -> tuple[str, Path | None]:
    """Deterministic id: the ``regress:`` section + fingerprints of the feature store and the encoder."""
    run_id, enc, _ = _run_inputs(cfg, data_dir, pipeline_name)
    return run_id, enc


def metrics_table(pred: pd.DataFrame) -> pd.DataFrame:
    """R², RMSE, MAE (and n) per split × horizon × model, from a PREDICTIONS table."""

    rows = []
    for (split, horizon, model), g in pred.groupby(["split", "horizon", "model"], sort=True):
        s = (
            scores(g["y_true"].to_numpy(), g["y_pred"].to_numpy())
            if len(g) >= 2
            else {"r2": float("nan"), "rmse": float("nan"), "mae": float("nan"), "n": len(g)}
        )
        rows.append(
            {
                "split": split,
                "horizon": horizon,
                "model": model,
                **s,
                "n_censored": int(g["censored"].sum()),
                "n_train": int(g["n_train"].iloc[0]),
            }
        )
    return pd.DataFrame(rows, columns=["split", "horizon", "model", "r2", "rmse", "mae", "n", "n_censored", "n_train"])


def write_metrics_md(
    path: Path,
    metrics: pd.DataFrame,
    parts: dict[str, dict[str, Any]],
    info: dict[str, Any],
    notes: dict[str, str] | None = None,
) -> None:
    lines = [
        f"# Regression run {info['run_id']}",
        "",
        f"Feature store `{info['features']}`; encoder `{info.get('encoder_run') or '—'}`; seed {info['seed']}; "
        f"rows: `{info['rows']}`; censoring (spectm heads): `{info['censoring']}`.",
        "",
        "Target: log10 particulate microcystin (µg/L); censored labels scored at LOD/√2 as stored. "
        "Hyperparameters chosen on val; figures below are on the **test** split.",
        "",
        "| horizon | model | R² | RMSE | MAE | n test | n censored | n train |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    order = {m: i for i, m in enumerate(("spectm-finetune", "spectm-frozen", "ridge", "svr", "rf", "gbt"))}
    test = metrics[metrics["split"] == "test"].copy()
    test["_o"] = test["model"].map(order)
    for _, r in test.sort_values(["horizon", "_o"]).iterrows():
        lines.append(
            f"| {r['horizon']} | {r['model']} | {r['r2']:.3f} | {r['rmse']:.3f} | {r['mae']:.3f} | "
            f"{r['n']} | {r['n_censored']} | {r['n_train']} |"
        )
    lines += [
        "",
        "## Rows and hyperparameters",
        "",
        "| fit | matched | excluded split | no chip | missing features | train / val / test | chosen on val | seconds |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for key, meta in sorted(parts.items()):
        c = meta.get("counts", {})
        bs = c.get("by_split", {})
        lines.append(
            f"| {key} | {c.get('matchups', '')} | {c.get('excluded_split', '')} | {c.get('no_chip', '')} | "
            f"{c.get('missing_features', '')} | {c.get('n_train_used', '')} / {bs.get('val', '')} / "
            f"{bs.get('test', '')} | {json.dumps(meta.get('params', {}))} | {meta.get('seconds', 0):.1f} |"
        )
    lines += [
        "",
        "Rows without a chip cannot be used by the spectm models; with `rows: chips` no model uses them, "
        "so every model is scored on the same samples. See docs/regress.md.",
        "",
    ]
    if notes:
        lines += ["## Skipped or fitted differently", ""] + [f"- `{k}`: {v}" for k, v in sorted(notes.items())] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def regress_run(
    cfg: RegressSection, *, data_dir: Path | str, pipeline_name: str, run_id: str | None = None
) -> RegressResult:
    """Fit every ``cfg.models`` × ``cfg.horizons`` and write the run dir (module docstring).

    ``run_id`` defaults to ``<pipeline_name>-regress-<key>`` (:func:`regress_run_id`). Returns
    status ``skipped`` when that run is complete, else ``done`` after fitting what was missing."""

    data_dir = Path(data_dir)
    key_id, enc, inputs = _run_inputs(cfg, data_dir, pipeline_name)
    run_dir = run_path(data_dir, run_id or key_id)
    if is_complete(run_dir):
        return RegressResult(
            status="skipped",
            run_dir=run_dir,
            metrics=pd.read_csv(run_dir / "metrics.csv"),
            horizons=list(cfg.horizons),
            notes=dict(read_complete(run_dir).get("notes") or {}),
        )
    parts_dir = run_dir / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(
        yaml.safe_dump({"regress": cfg.model_dump(mode="json")}, sort_keys=False), encoding="utf-8"
    )
    (run_dir / "inputs.json").write_text(json.dumps(inputs, indent=2), encoding="utf-8")

    fitted = reused = 0
    notes: dict[str, str] = {}
    metas: dict[str, dict[str, Any]] = {}
    frames = []
    for horizon in cfg.horizons:
        for model in cfg.models:
            key = f"{model}_{horizon}"
            part = parts_dir / f"{key}.parquet"
            if part.exists() and (
                model not in TORCH_MODELS or (run_dir / "regressor" / key / "regressor.json").exists()
            ):
                reused += 1
            else:
                t0 = time.perf_counter()
                out_dir = run_dir / "regressor" / key if model in TORCH_MODELS else None
                try:
                    df = fit_predict(
                        data_dir,
                        cfg.features,
                        model=model,
                        horizon=horizon,
                        seed=cfg.seed,
                        encoder=enc,
                        params=cfg,
                        out_dir=out_dir,
                    )
                except NoChipsError as exc:  # a spectm model without train chips: skipped, the rest goes on
                    notes[key] = f"not fitted: {exc.message}"
                    log.warning("regress %s %s", key, notes[key])
                    continue
                meta = {k: df.attrs.get(k) for k in ("counts", "params", "val_rmse", "note")}
                meta["seconds"] = time.perf_counter() - t0
                (parts_dir / f"{key}.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
                df.attrs = {}
                atomic_write(part, lambda tmp, df=df: df.to_parquet(tmp, index=False))
                fitted += 1
                log.info("regress %s: test n=%d in %.1f s", key, int((df["split"] == "test").sum()), meta["seconds"])
            metas[key] = json.loads((parts_dir / f"{key}.json").read_text(encoding="utf-8"))
            if metas[key].get("note"):
                notes[key] = str(metas[key]["note"])
            frames.append(pd.read_parquet(part))
    if not frames:
        raise DataNotFoundError(
            f"no model could be fitted ({'; '.join(f'{k}: {v}' for k, v in notes.items())})",
            "join more samples or a longer season",
        )
    pred = pd.concat(frames, ignore_index=True)
    pred.to_parquet(run_dir / "predictions.parquet", index=False)
    metrics = metrics_table(pred)
    metrics.to_csv(run_dir / "metrics.csv", index=False)
    first = pred.iloc[0] if len(pred) else None
    info = {
        "run_id": run_dir.name,
        "features": cfg.features,
        "seed": cfg.seed,
        "rows": cfg.rows,
        "censoring": cfg.censoring,
        "encoder_run": enc.name if enc else (first["encoder_run"] if first is not None else ""),
    }
    write_metrics_md(run_dir / "metrics.md", metrics, metas, info, notes)
    mark_complete(
        run_dir,
        {
            "stage": "regress",
            "models": cfg.models,
            "horizons": cfg.horizons,
            "predictions": len(pred),
            "fitted": fitted,
            "reused": reused,
            "notes": notes,
            **info,
        },
    )
    return RegressResult(
        status="done",
        run_dir=run_dir,
        metrics=metrics,
        horizons=list(cfg.horizons),
        fitted=fitted,
        reused=reused,
        notes=notes,
    )
