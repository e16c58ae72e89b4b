"""Pretraining cost per optimizer step vs chip size, patch size and time steps (demo model size).

Tokens are one per (time step, spatial patch, band), so the chip geometry sets the sequence
length the encoder and decoder attend over. This times ``Pretrainer`` steps (masks, forward,
losses, backward, AdamW) on synthetic PACE chips, default (spectral-targeted) masking.

    PYTHONPATH=$PWD python benchmarks/bench_chip_cost.py [--batch 16] [--steps 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from spectm.config import PretrainSection
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.synthetic import make_synthetic_chips
from spectm.pretrain.train import Pretrainer

GEOMETRIES = [(8, 8, 1), (8, 8, 2), (8, 4, 2), (16, 4, 2)]  # (chip, patch, time steps)
DEMO_MODEL = {"dim": 64, "depth": 2, "heads": 4, "decoder_dim": 64, "decoder_depth": 1, "decoder_heads": 4}


def _step(tr: Pretrainer, batch: dict[str, torch.Tensor]) -> None:
    parts = tr._forward(batch, 1, tr.model)
    tr.opt.zero_grad()
    parts["loss"].backward()
    tr.opt.step()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("| chip | patch | time steps | tokens/chip | s/step | samples/s |\n|---|---|---|---|---|---|")
    for chip, patch, t in GEOMETRIES:
        ds = make_synthetic_chips(2 * args.batch, t, chip, seed=0)
        data = ChipDataset.from_arrays(ds["chips"].values, ds["wavelength"].values)
        cfg = PretrainSection.model_validate(
            {
                "batch_size": args.batch,
                "max_steps": args.steps + 1,
                "num_workers": 0,
                "cpu_threads": 1,
                "warmup_steps": 1,
                "model": {"patch_size": patch, **DEMO_MODEL},
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            tr = Pretrainer(cfg, data, Path(tmp), device="cpu")
            batch = next(iter(tr.loader))

            _step(tr, batch)  # warm-up
            t0 = time.perf_counter()
            for _ in range(args.steps):
                _step(tr, batch)
            dt = (time.perf_counter() - t0) / args.steps
        print(
            f"| {chip} | {patch} | {t} | {t * (chip // patch) ** 2 * 172:,} | {dt:.2f} | {args.batch / dt:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
