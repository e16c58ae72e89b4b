"""Hand-made PREDICTIONS tables for the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

Y_TRUE = [0.0, 1.0, 2.0, 3.0]  # mean 1.5, SS_tot = 5


def pred_rows(
    model: str,
    seed: int,
    y_pred: Sequence[float],
    *,
    experiment: str = "main",
    horizon: str = "current",
    fraction: float = 1.0,
    masking: str = "",
    tasks: str = "",
    split: str = "test",
    y_true: Sequence[float] = Y_TRUE,
    censored: Sequence[bool] | None = None,
    n_train: int = 20,
) -> pd.DataFrame:
    n = len(y_pred)
    return pd.DataFrame(
        {
            "experiment": experiment,
            "model": model,
            "horizon": horizon,
            "seed": seed,
            "label_fraction": fraction,
            "n_train": n_train,
            "masking": masking,
            "tasks": tasks,
            "encoder_run": "enc" if model.startswith("spectm") else "",
            "split": split,
            "sample_id": [f"s{i}" for i in range(n)],
            "station": "WE2",
            "date": pd.date_range("2024-07-01", periods=n, freq="7D"),
            "y_true": list(y_true)[:n],
            "censored": list(censored) if censored is not None else [False] * n,
            "y_pred": list(y_pred),
        }
    )


def hand_table() -> pd.DataFrame:
    """Two models × two seeds on 4 test samples (+ val rows that must not count).

    ridge s0 perfect (R² 1), s1 one error of 1 (R² 0.8, RMSE 0.5, MAE 0.25);
    svr s0 the mean (R² 0, RMSE √1.25, MAE 1), s1 all +0.5 (R² 0.8, RMSE 0.5, MAE 0.5).
    """
    parts = [
        pred_rows("ridge", 0, [0, 1, 2, 3]),
        pred_rows("ridge", 1, [1, 1, 2, 3], censored=[True, False, False, False]),
        pred_rows("svr", 0, [1.5, 1.5, 1.5, 1.5]),
        pred_rows("svr", 1, [0.5, 1.5, 2.5, 3.5]),
        pred_rows("ridge", 0, [9, 9, 9, 9], split="val"),
        pred_rows("svr", 1, [-9, 9, -9, 9], split="val"),
    ]
    return pd.concat(parts, ignore_index=True)
