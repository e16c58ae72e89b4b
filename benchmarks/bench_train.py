"""Pretraining throughput: trainer consumption vs data-loader supply, and MFU on CUDA.

Prints one table with, in the same run:

- ``trainer step``: samples/s of full training steps (mask sampling, forward, backward,
  AdamW) of the *default* SpectralMAE on batches already in memory: what the trainer
  consumes;
- ``loader (in-memory)``: samples/s the DataLoader delivers from a chips store read into
  memory once (spectm's default for stores < 2 GiB), workers + pinned memory + prefetch;
- ``loader (per-sample zarr)``: the peer approach, random per-sample reads from the zarr
  store (spectm's fallback for big stores; the xbatcher-style access pattern);
- ``trainer + loader``: the real loop, end to end.

On CUDA it also counts model FLOPs per sample with ``torch.utils.flop_counter`` and prints
MFU = achieved FLOP/s ÷ ``--peak-tflops`` (default 989, H100 SXM dense bf16).

    .venv/bin/python benchmarks/bench_train.py [--device cpu|cuda] [--steps 20] [--batch 32]
        [--store <data-dir>/features/default/chips.zarr] [--config pipelines/<file>.yaml]

``--store`` measures on a real chips store (e.g. the twin's feature store written by
``spectm join``; its ``train`` split) instead of synthetic chips; ``--config`` takes the
model, masking and loss from a pipeline's ``pretrain:`` section (default: spectm's defaults).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from spectm.config import PretrainSection, load_pipeline
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.mae import count_parameters
from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store
from spectm.pretrain.train import Pretrainer


def _loader_rate(tr: Pretrainer, n_batches: int) -> float:
    it = iter(tr.loader)
    next(it)  # worker start-up excluded
    t0 = time.perf_counter()
    n = 0
    for _ in range(n_batches):
        try:
            b = next(it)
        except StopIteration:
            it = iter(tr.loader)
            b = next(it)
        if tr.device.type == "cuda":
            b["x"].to(tr.device, non_blocking=True)
        n += len(b["index"])
    if tr.device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def _step(tr: Pretrainer, batch: dict[str, torch.Tensor], step: int) -> None:
    """One optimiser step of the trainer itself, at ``step`` of the masking schedule."""
    tr.step = step
    tr._train_step(batch)


def _sync(tr: Pretrainer) -> None:
    if tr.device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--chips", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--store", type=Path, default=None, help="chips store to read (default: synthetic chips)")
    ap.add_argument("--config", type=Path, default=None, help="pipeline YAML whose pretrain: section to use")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_train_"))
    if args.store is None:
        store = write_chips_store(
            make_synthetic_chips(args.chips, 1, 8, seed=0, split_fractions=(1.0, 0.0, 0.0)), tmp / "chips.zarr"
        )
        source = f"synthetic ({args.chips} chips)"
    else:
        store, source = args.store, str(args.store)
    base = load_pipeline(args.config).pretrain if args.config else PretrainSection()
    cfg = base.model_copy(
        update={
            "batch_size": args.batch,
            "num_workers": args.workers,
            "max_steps": 10_000,
            "compile": args.compile,
            "cpu_threads": None,
        }
    )
    tr = Pretrainer(cfg, store, tmp / "run", device=args.device)
    lazy = Pretrainer(cfg, store, tmp / "run_lazy", device=args.device)
    lazy.train_ds = ChipDataset.from_zarr(store, "train", max_in_memory_bytes=0)
    lazy.loader = torch.utils.data.DataLoader(
        lazy.train_ds,
        batch_size=args.batch,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=lazy.device.type == "cuda",
        prefetch_factor=4 if args.workers else None,
        drop_last=True,
    )
    shape = "x".join(map(str, tr.train_ds.shape[1:]))
    print(f"store {source}: {len(tr.train_ds)} train chips of T×C×H×W {shape}")
    print(
        f"device {tr.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"params {count_parameters(tr.model):,}, model {cfg.model.model_dump()}, batch {args.batch}, "
        f"masking {cfg.masking.strategies}, amp {'bf16' if tr.amp else 'off'}, compile {args.compile}"
    )

    batches = [b for _, b in zip(range(3), tr.loader, strict=False)]
    _step(tr, batches[0], 0)  # warm-up (and compile)
    _sync(tr)
    t0 = time.perf_counter()
    for s in range(args.steps):
        _step(tr, batches[s % len(batches)], s + 1)
    _sync(tr)
    train_rate = args.steps * args.batch / (time.perf_counter() - t0)

    mem_rate = _loader_rate(tr, max(args.steps, 10))
    lazy_rate = _loader_rate(lazy, max(args.steps, 10))

    it = iter(tr.loader)
    _step(tr, next(it), 0)
    _sync(tr)
    t0 = time.perf_counter()
    n = 0
    for s in range(args.steps):
        try:
            b = next(it)
        except StopIteration:
            it = iter(tr.loader)
            b = next(it)
        _step(tr, b, s)
        n += args.batch
    _sync(tr)
    e2e_rate = n / (time.perf_counter() - t0)

    rows = [
        ("trainer step (batches in memory)", train_rate),
        ("loader, in-memory store (spectm default)", mem_rate),
        ("loader, per-sample zarr reads (peer)", lazy_rate),
        ("trainer + loader, end to end", e2e_rate),
    ]
    print(f"{'what':45s} {'samples/s':>12s}")
    for what, r in rows:
        print(f"{what:45s} {r:12.1f}")
    print(f"loader headroom (in-memory loader / trainer): {mem_rate / train_rate:.1f}x")
    if tr.device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as fc:
            _step(tr, batches[0], 1)
        flops = fc.get_total_flops() / args.batch
        mfu = flops * train_rate / (args.peak_tflops * 1e12)
        print(
            f"model FLOPs per sample (fwd+bwd): {flops / 1e9:.2f} GFLOP; MFU {100 * mfu:.2f} % "
            f"of {args.peak_tflops:g} TFLOP/s"
        )


if __name__ == "__main__":
    main()
