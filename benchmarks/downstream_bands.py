"""Frozen-head val R² of one pretrained encoder under each downstream treatment of its unseen bands.

The encoder was pretrained with the spectral-targeted mask, so it never saw the targeted bands.
Downstream, its features can come from the bands it saw only (``visible``), from every band with
the unseen ones refilled by the decoder (``reconstructed``), or from every measured band (``all``,
spectm's earlier behaviour). Same store, same encoder, same seeds; only that choice changes.

    PYTHONPATH=$PWD python benchmarks/downstream_bands.py DATA_DIR PRETRAIN_RUN_DIR [SEEDS...]
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

import spectm.regress.api as api
import spectm.regress.head as head
from spectm.config import RegressSection
from spectm.regress.metrics import r2


def main() -> None:
    data_dir, run = Path(sys.argv[1]), Path(sys.argv[2])
    seeds = [int(s) for s in sys.argv[3:]] or [0, 1]
    real = head.load_encoder
    params = RegressSection(features="default", frozen_steps=200, cpu_threads=1)
    print("| downstream bands | horizon | seed | val R² | test R² | seconds |")
    print("|---|---|---|---|---|---|")
    for fill in ("visible", "reconstructed", "all"):

        def patched(path: Path, fill: str = fill) -> head.Encoder:
            enc = real(path)
            if fill == "all":
                return dataclasses.replace(enc, unseen_bands=None)
            return dataclasses.replace(enc, downstream_bands=fill)

        head.load_encoder = patched
        for horizon in ("current", "ahead"):
            for seed in seeds:
                t0 = time.perf_counter()
                out = api.fit_predict(
                    data_dir, "default", model="spectm-frozen", horizon=horizon, seed=seed, encoder=run, params=params
                )
                sc = {k: r2(g["y_true"].to_numpy(float), g["y_pred"].to_numpy(float)) for k, g in out.groupby("split")}
                print(
                    f"| {fill} | {horizon} | {seed} | {sc.get('val', np.nan):.3f} | {sc.get('test', np.nan):.3f} | "
                    f"{time.perf_counter() - t0:.0f} |",
                    flush=True,
                )
    head.load_encoder = real


if __name__ == "__main__":
    main()
