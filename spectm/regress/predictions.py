"""The PREDICTIONS table every regression fit returns: one row per val/test sample, log10 units.

Stored by the ``regress`` stage and the evaluation protocol alike, and read back by the
report, so its columns are fixed here (:data:`PREDICTION_COLUMNS`, docs/regress.md). A
censored label (``<LOD``) stays marked, with its detection limit in log10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PREDICTION_COLUMNS = [
    "experiment",
    "model",
    "horizon",
    "seed",
    "label_fraction",
    "n_train",
    "masking",
    "tasks",
    "encoder_run",
    "split",
    "sample_id",
    "station",
    "date",
    "y_true",
    "censored",
    "y_pred",
]


def censoring(df: pd.DataFrame, label: str) -> tuple[np.ndarray, np.ndarray]:
    """(censored flag, log10 detection limit) per row of ``label``; NaN limit where none."""
    cens = (
        df[f"{label}_censored"].fillna(False).to_numpy(bool) if f"{label}_censored" in df else np.zeros(len(df), bool)
    )
    lod = df[f"{label}_lod"].to_numpy(float) if f"{label}_lod" in df else np.full(len(df), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lod_log = np.where(lod > 0, np.log10(lod), np.nan)
    return cens, lod_log


def predictions_frame(
    rows: pd.DataFrame,
    split: str,
    y_pred: np.ndarray,
    *,
    model: str,
    horizon: str,
    seed: int,
    label_fraction: float,
    n_train: int,
    masking: str,
    tasks: str,
    encoder_run: str,
    censored: np.ndarray,
) -> pd.DataFrame:
    """Rows of the PREDICTIONS table (docs/regress.md) for one split."""
    return pd.DataFrame(
        {
            "experiment": "main",
            "model": model,
            "horizon": horizon,
            "seed": int(seed),
            "label_fraction": float(label_fraction),
            "n_train": int(n_train),
            "masking": masking,
            "tasks": tasks,
            "encoder_run": encoder_run,
            "split": split,
            "sample_id": rows["sample_id"].astype(str).to_numpy(),
            "station": rows["station"].astype(str).to_numpy(),
            "date": pd.to_datetime(rows["date"]).to_numpy(dtype="datetime64[ns]"),
            "y_true": rows["label_log10"].to_numpy(float),
            "censored": np.asarray(censored, bool),
            "y_pred": np.asarray(y_pred, dtype=float),
        },
        columns=PREDICTION_COLUMNS,
    )


__all__ = ["PREDICTION_COLUMNS", "censoring", "predictions_frame"]
