"""A tiny synthetic feature store with a known label relation, and a tiny pretrain run.

``make_store`` writes ``features/<name>/`` exactly as the join stage's contract describes
(matchups.parquet as GeoParquet, chips.zarr, manifest.json) from ``spectm.pretrain.synthetic``
chips (a bio-optical forward model). Each chip is one match-up (both horizons point at it);
the sample sits at the chip centre; the match-up spectrum and indices are the 3×3 window
median, and the label is a known function of a band ratio of that window:

    label_log10 = 2·log10(R709 / R665) + 0.5

(the red-edge ratio NDCI is built on), with labels below ``LOD_LOG10`` censored and stored
at LOD/√2 like the join does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from spectm.join.store import write_matchups
from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store

WAVELENGTHS = np.arange(400.0, 721.0, 5.0)  # 65 bands; has 620/665 and 680/710 within 3 nm
LOD_LOG10 = -0.03


def band(wl: np.ndarray, nm: float) -> int:
    return int(np.argmin(np.abs(wl - nm)))


def make_store(
    data_dir: Path,
    name: str = "default",
    n: int = 120,
    size: int = 8,
    seed: int = 0,
    no_chip: int = 0,
    nan_feature: int = 0,
    insitu: bool = False,
    seasons: int = 1,
) -> Path:
    """Write features/<name>/ with ``n`` match-ups per horizon (60/20/20 train/val/test by chip order).

    ``no_chip`` train rows get ``chip_index = -1``; ``nan_feature`` train rows get a NaN index value.
    ``insitu``: add measured chlorophyll-a and phycocyanin (log-linear in the label, with noise; the
    lowest phycocyanin values censored). ``seasons``: spread the dates over that many years
    (2024 backwards), row i in season i mod ``seasons``.
    """
    ds = make_synthetic_chips(
        n, 1, size, wavelengths=WAVELENGTHS, seed=seed, nan_fraction=0.03, split_fractions=(0.6, 0.2, 0.2)
    )
    store = data_dir / "features" / name
    write_chips_store(ds, store / "chips.zarr", chips_per_chunk=16)
    x = ds["chips"].values[:, -1]  # (n, C, H, W)
    c = size // 2
    win = x[:, :, c - 1 : c + 2, c - 1 : c + 2].reshape(n, len(WAVELENGTHS), -1)
    spec = np.nanmedian(win, axis=2)  # (n, C)
    r665, r709 = spec[:, band(WAVELENGTHS, 665)], spec[:, band(WAVELENGTHS, 710)]
    y_true = 2.0 * np.log10(r709 / r665) + 0.5
    censored = y_true < LOD_LOG10
    lod = np.full(n, 10**LOD_LOG10)
    pmc = np.where(censored, lod, 10**y_true)
    label = np.where(censored, np.log10(lod / np.sqrt(2)), y_true)
    splits = [str(s) for s in ds["split"].values]
    base = pd.DataFrame(
        {
            "sample_id": [f"S{i:04d}" for i in range(n)],
            "station": [f"WE{i % 7}" for i in range(n)],
            "date": pd.Timestamp("2024-06-01") + pd.to_timedelta(np.arange(n) % 90, unit="D"),
            "lat": 41.7 + 0.001 * np.arange(n),
            "lon": -83.3 + np.zeros(n),
            "pmc_ugL": pmc,
            "pmc_ugL_censored": censored,
            "pmc_ugL_lod": lod,
            "label_log10": label,
            "split": splits,
            "chip": [str(v) for v in ds["chip"].values],
            "chip_index": np.arange(n, dtype=np.int64),
            "chip_status": "ok",
            "chip_row": c,
            "chip_col": c,
        }
    )
    if seasons > 1:
        year = 2024 - (np.arange(n) % seasons)
        base["date"] = pd.to_datetime([f"{y}-06-01" for y in year]) + pd.to_timedelta(
            (np.arange(n) // seasons) % 120, unit="D"
        )
    if insitu:
        rng = np.random.default_rng(seed + 1)
        base["chla_ugL"] = 10 ** (1.0 + 0.6 * y_true + rng.normal(scale=0.05, size=n))
        pc = 10 ** (0.5 + 0.9 * y_true + rng.normal(scale=0.05, size=n))
        cut = np.quantile(pc, 0.1)
        base["pc_ugL"] = np.where(pc < cut, cut, pc)
        base["pc_ugL_censored"] = pc < cut
        base["pc_ugL_lod"] = cut
    for k, wl in enumerate(WAVELENGTHS):
        base[f"rrs_{wl:g}"] = spec[:, k]
    base["ndci"] = (r709 - r665) / (r709 + r665)
    base["ci"] = -(spec[:, band(WAVELENGTHS, 680)] - r665 - (r709 - r665) * (680 - 665) / (710 - 665))
    train_rows = np.flatnonzero(base["split"].to_numpy() == "train")
    base.loc[train_rows[:no_chip], "chip_index"] = -1
    base.loc[train_rows[no_chip : no_chip + nan_feature], "ndci"] = np.nan
    df = pd.concat([base.assign(horizon="current"), base.assign(horizon="ahead")], ignore_index=True)
    write_matchups(df, store / "matchups.parquet")
    (store / "manifest.json").write_text(
        json.dumps(
            {
                "key": f"test-{seed}-{n}",
                "params": {"pixel_window": 3, "lead_days": 8, "label": "pmc_ugL", "sensor": "pace"},
            }
        )
    )
    return store


def tiny_pretrain_section(features: str = "default", steps: int = 4) -> dict:
    """The ``pretrain:`` section of a tiny encoder: a few CPU steps, validated and checkpointed at the end."""
    return {
        "features": features,
        "batch_size": 8,
        "max_steps": steps,
        "num_workers": 0,
        "log_every": 1,
        "val_every": steps,
        "checkpoint_every": steps,
        "warmup_steps": 1,
        "deterministic": True,
        "cpu_threads": 1,
        "early_stopping_patience": 0,
        "baseline_max_pixels": 16,
        "report_spectra": 1,
        "model": {
            "patch_size": 4,
            "dim": 32,
            "depth": 1,
            "heads": 2,
            "decoder_dim": 16,
            "decoder_depth": 1,
            "decoder_heads": 2,
            "wavelength_freqs": 8,
        },
    }


def tiny_pretrain(data_dir: Path, features: str = "default", steps: int = 4, run_id: str = "enc") -> Path:
    """A few steps of pretraining a tiny encoder on the store's chips (a real run directory)."""
    from spectm.config import PretrainSection
    from spectm.pretrain.run import pretrain_run

    cfg = PretrainSection.model_validate(tiny_pretrain_section(features, steps))
    res = pretrain_run(cfg, data_dir=data_dir, run_id=run_id, device="cpu")
    return res.run_dir
