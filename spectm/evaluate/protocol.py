"""The evaluation protocol: every (experiment, model, horizon, seed, label fraction, encoder) fit.

:func:`combinations` lists the fits an ``evaluate:`` section asks for; :func:`run_protocol` makes
them with ``spectm.regress.fit_predict`` and stores each one's predictions as a part
(``parts/<key>.parquet``, written atomically) so an interrupted evaluation resumes where it
stopped; then it concatenates the parts into ``predictions.parquet`` — the one file the report
is built from.

Which fits (spectm's protocol, docs/evaluate.md):

* ``main``: every model × horizon × seed on all train labels (fraction 1.0), spectm models on
  the pipeline's encoder, plus the reference rows (``evaluate.references``: climatology and the
  in-situ ceilings, :mod:`spectm.regress.references`);
* ``label_efficiency``: every label-efficiency model × horizon × seed × fraction < 1 — the
  100 % point is the main fit, not trained twice (if ``main`` is not run, 1.0 is fitted here);
* ``ablation``: every ablation model × horizon × seed on all labels, on each variant's encoder
  — one per masking × tasks × encoder seed (:mod:`spectm.evaluate.variants`).

With ``cv: seasons`` every one of these fits is made once per season of the feature store's
labelled match-ups, holding that season out (leave-one-season-out; the fold is the part key's
``_cv<season>`` and the predictions' ``fold`` column).

A reference fit whose inputs the store lacks (no measured pigments) is skipped and reported
(``ProtocolResult.skipped``, ``evaluate.json``), never silently dropped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from spectm.config import BASELINE_MODELS, EvaluateSection, RegressSection
from spectm.console import log
from spectm.errors import BadInputError, DataNotFoundError, StageError
from spectm.evaluate.schema import COLUMNS, REFERENCES, SPECTM_MODELS, validate_predictions
from spectm.evaluate.variants import Variant, variants
from spectm.provenance import atomic_write
from spectm.regress import fit_predict
from spectm.regress.references import reference_models

PARTS = "parts"


@dataclass(frozen=True)
class Combo:
    """One fit of the protocol."""

    experiment: str
    model: str
    horizon: str
    seed: int
    fraction: float
    variant: Variant | None = None  # the ablation's pretraining variant; None: the pipeline's encoder
    fold: int | None = None  # leave-one-season-out: the season held out; None: the store's splits

    @property
    def key(self) -> str:
        v = f"_{self.variant.slug}" if self.variant else ""
        cv = f"_cv{self.fold}" if self.fold is not None else ""
        return f"{self.experiment}_{self.model}_{self.horizon}_s{self.seed}_f{self.fraction:g}{v}{cv}"

    @property
    def needs_encoder(self) -> bool:
        return self.model in SPECTM_MODELS


def main_models(ev: EvaluateSection) -> list[str]:
    """The main experiment's models: ``models`` then the reference rows."""

    regs = ev.ceiling_models or [m for m in ev.models if m in BASELINE_MODELS] or ["ridge"]
    return list(ev.models) + reference_models(list(ev.references), regs)


def combinations(ev: EvaluateSection, seasons: list[int] | None = None) -> list[Combo]:
    """Every fit the section asks for, main first, then label efficiency, then the ablation.

    ``seasons``: the labelled seasons of the feature store, needed (≥ 3) with ``cv: seasons``;
    every fit is then repeated per held-out season.
    """
    out: list[Combo] = []
    if "main" in ev.experiments:
        out += [Combo("main", m, h, s, 1.0) for m in main_models(ev) for h in ev.horizons for s in ev.seeds]
    if "label_efficiency" in ev.experiments:
        models = ev.label_efficiency_models or ev.models
        for f in ev.label_fractions:
            for m in models:
                if f == 1.0 and "main" in ev.experiments and m in ev.models:
                    continue  # the 100 % point is the main fit
                out += [Combo("label_efficiency", m, h, s, f) for h in ev.horizons for s in ev.seeds]
    if "ablation" in ev.experiments:
        for v in variants(ev.ablation):
            out += [
                Combo("ablation", m, h, s, 1.0, v) for m in ev.ablation.models for h in ev.horizons for s in ev.seeds
            ]
    if ev.cv == "seasons":
        from dataclasses import replace

        if seasons is None or len(seasons) < 3:
            raise BadInputError(
                f"cv: seasons needs ≥ 3 labelled seasons, the feature store has "
                f"{len(seasons or [])} ({', '.join(map(str, seasons or []))})",
                "evaluate without --cv seasons (cv: none), or join more seasons",
            )
        out = [replace(c, fold=int(y)) for c in out for y in seasons]
    return out


FitPredict = Callable[..., pd.DataFrame]


def _default_fit_predict() -> FitPredict:

    return fit_predict


def write_part(parts: Path, combo: Combo, df: pd.DataFrame, seconds: float, attrs: dict[str, Any]) -> None:
    """Sidecar JSON first, then the parquet by atomic rename: the parquet's presence means done."""
    keep = {k: v for k, v in attrs.items() if k in ("counts", "params", "val_rmse", "cpu_seconds", "reused_from")}
    meta = {"key": combo.key, "rows": len(df), "seconds": seconds, **keep}
    (parts / f"{combo.key}.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    df.attrs = {}
    atomic_write(parts / f"{combo.key}.parquet", lambda tmp: df.to_parquet(tmp, index=False))


@dataclass
class ProtocolResult:
    predictions: pd.DataFrame
    fitted: int  # combinations fitted in this call
    reused: int  # combinations whose part was already on disk
    seconds: dict[str, float]  # fit seconds per experiment (all parts, also earlier calls)
    skipped: dict[str, str] | None = None  # reference fits the store cannot support: key → reason


def run_protocol(
    run_dir: Path,
    combos: list[Combo],
    *,
    data_dir: Path,
    features: str,
    encoder: Path | None,
    params: RegressSection | None,
    variant_encoder: Callable[[Variant], Path] | None = None,
    fit_predict: FitPredict | None = None,
) -> ProtocolResult:
    """Fit every combination not yet on disk, then concatenate all parts into ``predictions.parquet``.

    ``variant_encoder`` returns (making it if needed) the pretrain run of an ablation variant; it is
    called only when a combination of that variant still has to be fitted.
    """
    fit_predict = fit_predict or _default_fit_predict()
    parts = Path(run_dir) / PARTS
    parts.mkdir(parents=True, exist_ok=True)
    todo = [c for c in combos if not (parts / f"{c.key}.parquet").exists()]
    log.info("evaluate: %d combinations, %d already done, %d to fit", len(combos), len(combos) - len(todo), len(todo))
    encoders: dict[Variant, Path] = {}
    skipped: dict[str, str] = {}
    for i, c in enumerate(todo, 1):
        enc = encoder
        if c.variant is not None and c.needs_encoder:
            if variant_encoder is None:
                raise ValueError("ablation combinations need variant_encoder")
            if c.variant not in encoders:
                encoders[c.variant] = variant_encoder(c.variant)
            enc = encoders[c.variant]
        t0, c0 = time.perf_counter(), time.process_time()
        extra = {"cv_season": c.fold} if c.fold is not None else {}
        try:
            df = fit_predict(
                data_dir,
                features,
                model=c.model,
                horizon=c.horizon,
                seed=c.seed,
                label_fraction=c.fraction,
                encoder=enc if c.needs_encoder else None,
                params=params,
                **extra,
            )
        except DataNotFoundError as exc:
            if c.model not in REFERENCES:
                raise
            skipped[c.key] = exc.message
            log.warning("evaluate [%d/%d] %s skipped: %s", i, len(todo), c.key, exc.message)
            continue
        attrs = dict(df.attrs)
        df = df.copy()
        df["experiment"] = c.experiment
        df["fold"] = str(c.fold) if c.fold is not None else ""
        df["encoder_seed"] = c.variant.seed if c.variant is not None else 0
        if c.variant is not None:  # fit_predict reads the labels from the encoder's config: must agree
            got = set(zip(df["masking"], df["tasks"], strict=True)) - {("", "")}
            if got - {(c.variant.strategies, c.variant.tasks)}:
                raise StageError(
                    f"variant encoder {enc} reports masking/tasks {sorted(got)}, expected "
                    f"({c.variant.strategies!r}, {c.variant.tasks!r})",
                    f"delete {enc} (it was trained with another configuration) and re-run",
                )
            df["masking"], df["tasks"] = c.variant.masking, c.variant.tasks
        secs = time.perf_counter() - t0
        attrs["cpu_seconds"] = time.process_time() - c0
        write_part(parts, c, df[list(COLUMNS)], secs, attrs)
        log.info("evaluate [%d/%d] %s: %d rows in %.1f s", i, len(todo), c.key, len(df), secs)
    frames, seconds = [], {}
    for c in combos:
        if c.key in skipped:
            continue
        frames.append(pd.read_parquet(parts / f"{c.key}.parquet"))
        meta = json.loads((parts / f"{c.key}.json").read_text(encoding="utf-8"))
        seconds[c.experiment] = seconds.get(c.experiment, 0.0) + float(meta.get("seconds", 0.0))
    pred = validate_predictions(
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS)), "evaluation parts"
    )
    atomic_write(Path(run_dir) / "predictions.parquet", lambda tmp: pred.to_parquet(tmp, index=False))
    return ProtocolResult(pred, len(todo) - len(skipped), len(combos) - len(todo), seconds, skipped)


def describe(combos: list[Combo]) -> dict[str, Any]:
    """Counts of fits per experiment and model (for evaluate.json and --dry-run)."""
    by: dict[str, dict[str, int]] = {}
    for c in combos:
        by.setdefault(c.experiment, {}).setdefault(c.model, 0)
        by[c.experiment][c.model] += 1
    return {"total": len(combos), "by_experiment": by}
