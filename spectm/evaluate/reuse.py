"""Main-experiment fits the regress stage already made, taken over instead of fitted again.

The regress stage fits ``regress.models`` × ``regress.horizons`` at ``regress.seed`` on all train
labels with the pipeline's encoder: exactly the evaluation's main fits at that seed, made by
the same ``fit_predict`` with the same settings. When that regress run is complete, its run key
matches the feature store and encoder the evaluation uses now (the key hashes both, and the
``regress:`` section), and the evaluation's fit settings are that section, its predictions are
copied into the evaluation's parts rather than recomputed — on the 13-season twin that is
every model at one seed, a tenth of the evaluation's fits. Fits are deterministic on the CPU,
so a copied part equals a refit (tested); each copied part records where it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spectm.config import Pipeline
from spectm.console import log
from spectm.errors import SpectmError
from spectm.evaluate.protocol import PARTS, Combo, write_part
from spectm.evaluate.schema import COLUMNS
from spectm.regress.run import regress_run_id
from spectm.runs import is_complete, run_path


def regress_parts(pipeline: Pipeline, data_dir: Path, encoder: Path | None, features: str) -> Path | None:
    """The parts dir of the pipeline's complete regress run for these inputs, or None."""

    cfg = pipeline.regress
    if cfg.features != features:
        return None
    try:
        run_id, enc = regress_run_id(cfg, data_dir, pipeline.name)
    except SpectmError:  # no encoder or store the regress stage could use: nothing to reuse
        return None
    if encoder is not None and (enc is None or enc.resolve() != encoder.resolve()):
        return None
    run_dir = run_path(data_dir, run_id)
    return run_dir / PARTS if is_complete(run_dir) else None


def reuse_regress_fits(
    pipeline: Pipeline, data_dir: Path, run_dir: Path, combos: list[Combo], encoder: Path | None, features: str
) -> int:
    """Copy the regress run's parts for the main combinations it already fitted; returns how many."""
    src = regress_parts(pipeline, data_dir, encoder, features)
    if src is None:
        return 0
    seed = pipeline.regress.seed
    dst = Path(run_dir) / PARTS
    dst.mkdir(parents=True, exist_ok=True)
    copied = 0
    for c in combos:
        if c.experiment != "main" or c.seed != seed or c.fraction != 1.0 or c.fold is not None or c.variant:
            continue
        part = src / f"{c.model}_{c.horizon}.parquet"
        if (dst / f"{c.key}.parquet").exists() or not part.exists():
            continue
        meta = json.loads((src / f"{c.model}_{c.horizon}.json").read_text(encoding="utf-8"))
        df = pd.read_parquet(part)
        df["experiment"], df["fold"], df["encoder_seed"] = c.experiment, "", 0
        attrs = {k: meta.get(k) for k in ("counts", "params", "val_rmse")}
        attrs["reused_from"] = src.parent.name
        write_part(dst, c, df[list(COLUMNS)], float(meta.get("seconds") or 0.0), attrs)
        copied += 1
    if copied:
        log.info(
            "evaluate: %d main fits taken from the regress run %s (same inputs and settings)", copied, src.parent.name
        )
    return copied
