"""A deterministic stand-in for ``fit_predict`` and a minimal data directory for the protocol tests."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spectm.evaluate.schema import COLUMNS

Y = np.array([-1.0, -0.5, 0.0, 0.3, 0.8, 1.2, 1.5, -0.2, 0.6])  # 6 test + 3 val samples
SPLITS = ["test"] * 6 + ["val"] * 3


class FakeFit:
    """Predictions y + noise, noise shrinking with the label fraction; records calls; can fail."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_after = fail_after

    def __call__(
        self,
        data_dir: Path,
        features: str,
        *,
        model: str,
        horizon: str,
        seed: int,
        label_fraction: float = 1.0,
        encoder: Path | None = None,
        params: Any = None,
        out_dir: Path | None = None,
        cv_season: int | None = None,
    ) -> pd.DataFrame:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.calls.append(
            {
                "model": model,
                "horizon": horizon,
                "seed": seed,
                "fraction": label_fraction,
                "encoder": encoder,
                "cv_season": cv_season,
            }
        )
        if model.startswith("spectm") and encoder is None:
            raise AssertionError("spectm model without encoder")
        h = zlib.crc32(f"{model}|{horizon}|{seed}|{label_fraction}|{encoder}|{cv_season}".encode())
        year = cv_season or 2024  # a fold's test (and val) rows: the held-out season
        rng = np.random.default_rng(h)
        scale = 0.2 + 0.6 * (1 - label_fraction) + (0.0 if model.startswith("spectm") else 0.2)
        df = pd.DataFrame(
            {
                "experiment": "main",
                "model": model,
                "horizon": horizon,
                "seed": seed,
                "label_fraction": label_fraction,
                "n_train": max(2, int(40 * label_fraction)),
                "masking": _labels(encoder)[0],
                "tasks": _labels(encoder)[1],
                "encoder_run": Path(encoder).name if encoder else "",
                "split": SPLITS,
                "sample_id": [f"S{i}" for i in range(len(Y))],
                "station": "WE2",
                "date": pd.date_range(f"{year}-07-01", periods=len(Y), freq="7D"),
                "y_true": Y,
                "censored": Y < -0.9,
                "y_pred": Y + rng.normal(scale=scale, size=len(Y)),
            },
            columns=list(COLUMNS),
        )
        df.attrs["counts"] = {"matchups": len(Y)}
        return df


def _labels(encoder: Path | None) -> tuple[str, str]:
    """(masking, tasks) as fit_predict reports them: from the encoder run's config.yaml."""
    if encoder is None:
        return "", ""
    import yaml

    pre = yaml.safe_load((Path(encoder) / "config.yaml").read_text())["pretrain"]
    tasks = [t for t, k in (("rec", "reconstruction"), ("idx", "indices"), ("fut", "future")) if pre["loss"][k] > 0]
    return "+".join(pre["masking"]["strategies"]), "+".join(tasks)


def make_data_dir(root: Path, features: str = "default", seasons: tuple[int, ...] = (2024,)) -> Path:
    """features/<name>/ with the two files the evaluate stage reads: the chips' metadata (fingerprinted)
    and a match-up table holding only dates and labels (the labelled seasons, for leave-one-season-out)."""
    store = root / "features" / features
    (store / "chips.zarr").mkdir(parents=True)
    (store / "chips.zarr" / "zarr.json").write_text('{"zarr_format": 3}')
    dates = [pd.Timestamp(f"{y}-07-01") + pd.Timedelta(days=7 * i) for y in seasons for i in range(3)]
    pd.DataFrame({"date": dates, "label_log10": np.linspace(-1, 1, len(dates))}).to_parquet(
        store / "matchups.parquet", index=False
    )
    return root


def make_encoder(
    root: Path, run_id: str = "demo-pretrain-abc", masking: str = "spectral-targeted", tasks: str = "rec+idx+fut"
) -> Path:
    """A run directory that passes resolve_encoder (complete, with model.safetensors and config.yaml)."""
    import yaml

    from spectm.provenance import mark_complete

    run = root / "runs" / run_id
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"weights")
    loss = {
        k: (1.0 if t in tasks.split("+") else 0.0)
        for t, k in (("rec", "reconstruction"), ("idx", "indices"), ("fut", "future"))
    }
    (run / "config.yaml").write_text(
        yaml.safe_dump({"pretrain": {"masking": {"strategies": masking.split("+")}, "loss": loss}})
    )
    mark_complete(run, {"stage": "pretrain"})
    return run
