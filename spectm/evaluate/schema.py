"""The PREDICTIONS table: the one input every evaluation table and figure is built from.

One row per model × horizon × seed × label fraction × encoder variant × sample (contract in
docs/evaluate.md and docs/data-layout.md). Reading goes through :func:`read_predictions`, which
checks the columns so a table from another tool fails with a message naming what is missing,
never with a ``KeyError`` deep inside a groupby.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spectm import config
from spectm.errors import DataNotFoundError, SchemaError
from spectm.regress.predictions import PREDICTION_COLUMNS

# columns added after the first release: a table without them reads with these values
OPTIONAL: dict[str, object] = {"fold": "", "encoder_seed": 0}
# the columns every fit returns (spectm.regress.predictions), then the evaluation's own
COLUMNS: tuple[str, ...] = (*PREDICTION_COLUMNS, *OPTIONAL)
EXPERIMENTS = ("main", "ablation", "label_efficiency")
SPECTM_MODELS = config.SPECTM_MODELS
BASELINES = config.BASELINE_MODELS
CEILINGS = tuple(f"ceiling-{b}" for b in BASELINES) + tuple(f"ceiling-chl-{b}" for b in BASELINES)
CLIMATOLOGY = "climatology"
REFERENCES = (*CEILINGS, CLIMATOLOGY)
MODEL_ORDER = CEILINGS + SPECTM_MODELS + BASELINES + (CLIMATOLOGY,)
HORIZONS = ("current", "ahead")


def validate_predictions(df: pd.DataFrame, source: str = "predictions") -> pd.DataFrame:
    """Check the columns and normalise dtypes; returns a copy in the contract's types."""
    df = df.assign(**{c: v for c, v in OPTIONAL.items() if c not in df.columns})
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{source} lacks the column(s) {', '.join(missing)}",
            "write it with spectm evaluate (PREDICTIONS contract in docs/evaluate.md)",
        )
    out = df[list(COLUMNS)].copy()
    for col in (
        "experiment",
        "model",
        "horizon",
        "masking",
        "tasks",
        "encoder_run",
        "split",
        "sample_id",
        "station",
        "fold",
    ):
        out[col] = out[col].fillna("").astype(str)
    out["seed"] = out["seed"].astype("int64")
    out["encoder_seed"] = out["encoder_seed"].fillna(0).astype("int64")
    out["n_train"] = out["n_train"].astype("int64")
    out["label_fraction"] = out["label_fraction"].astype(float)
    out["y_true"] = out["y_true"].astype(float)
    out["y_pred"] = out["y_pred"].astype(float)
    out["censored"] = out["censored"].fillna(False).astype(bool)
    out["date"] = pd.to_datetime(out["date"])
    nonfinite = int((~np.isfinite(out["y_true"]) | ~np.isfinite(out["y_pred"])).sum())
    if nonfinite:
        raise SchemaError(
            f"{source}: {nonfinite} row(s) have a non-finite y_true or y_pred",
            "store only rows that have a label and a prediction (count the others upstream)",
        )
    bad = sorted(set(out["experiment"]) - set(EXPERIMENTS))
    if bad:
        raise SchemaError(f"{source}: unknown experiment value(s) {bad}", f"use one of {', '.join(EXPERIMENTS)}")
    return out.reset_index(drop=True)


def read_predictions(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(
            f"no predictions table at {path}", "run `spectm evaluate run` first, or pass the evaluate run directory"
        )
    return validate_predictions(pd.read_parquet(path), str(path))


def model_sort_key(model: str) -> tuple[int, str]:
    """Known models in table order (ceilings, spectm, baselines, climatology), others after by name."""
    return (MODEL_ORDER.index(model), "") if model in MODEL_ORDER else (len(MODEL_ORDER), model)
