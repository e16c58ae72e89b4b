"""Pretraining s/step of every ablation cell's masking at the ablation's model settings, side by side.

The ablation compares four masking strategies on one model (``evaluate.ablation.model``). This
times full ``Pretrainer`` steps — masks (with SIGMAE's saliency), forward, losses, backward, AdamW —
for each strategy of the pipeline's ablation, with the variant's own pretraining section (as
``spectm evaluate`` builds it: ``spectm.evaluate.variants.variant_section``), at ``--threads`` CPU
threads each, on the train chips of a real store (or synthetic PACE chips of the same geometry).
With ``--reference`` it adds the per-band layouts at patch 8 (one spatial patch) and patch 4 (several)
for comparison; per-band patch 4 is slow, so it gets one timed step.

    PYTHONPATH=$PWD python benchmarks/bench_ablation_cost.py pipelines/twin_seasons_ablation.yaml \\
        [--store <data-dir>/features/default/chips.zarr] [--batch 32] [--steps 3] [--threads 1 2] [--reference]

It prints one markdown table and the estimate of the ablation's pretraining time (cells × seeds ×
max_steps × the measured s/step at the pipeline's ``cpu_threads``). Note the machine's load next to it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from spectm.config import EvaluateAblation, PretrainSection, load_pipeline
from spectm.evaluate.variants import Variant, variant_section, variants
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.synthetic import make_synthetic_chips
from spectm.pretrain.train import Pretrainer


def _step(tr: Pretrainer, batch: dict[str, torch.Tensor], step: int) -> None:
    """One optimiser step of the trainer itself, at ``step`` of the masking schedule."""
    tr.step = step
    tr._train_step(batch)


def _time(cfg: PretrainSection, data: ChipDataset, batch: int, steps: int, threads: int) -> tuple[float, float, int]:
    """Mean wall s/step and CPU s/step (all threads) over ``steps`` timed steps after one warm-up, and the
    tokens per chip. On a shared machine the wall time measures the other users too; the CPU time much less."""
    cfg = cfg.model_copy(update={"batch_size": batch, "cpu_threads": threads, "num_workers": 0, "compile": False})
    with tempfile.TemporaryDirectory() as tmp:
        tr = Pretrainer(cfg, data, Path(tmp), device="cpu")
        it = iter(tr.loader)
        b = next(it)
        _step(tr, b, 0)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for s in range(steps):
            _step(tr, b, 1 + s)
        dt, cpu = (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps
        _, t, c, h, w = data.shape
        p = tr.mcfg.patch_size
        per_patch = c if tr.mask_groups is None else len(tr.mask_groups)
        return dt, cpu, t * (h // p) * (w // p) * per_patch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline", type=Path)
    ap.add_argument("--store", type=Path, help="a chips store (its train split); default: synthetic chips")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reference", action="store_true", help="also time the per-band layouts (patch 8 and 4)")
    args = ap.parse_args()
    pipe = load_pipeline(args.pipeline)
    ab = pipe.evaluate.ablation
    if args.store:
        data = ChipDataset.from_zarr(args.store, "train")
    else:
        ds = make_synthetic_chips(4 * args.batch, pipe.join.chip_time, pipe.join.chip_size, seed=0)
        data = ChipDataset.from_arrays(ds["chips"].values, ds["wavelength"].values)
    tasks = ab.tasks[-1]
    rows: list[tuple[str, str, PretrainSection]] = []
    for m in dict.fromkeys(ab.masking):
        rows.append((m, "ablation", variant_section(pipe.pretrain, Variant(m, tasks, 0), ab)))
    if args.reference:
        for patch in (8, 4):
            model = (ab.model or pipe.pretrain.model).model_copy(update={"patch_size": patch, "band_group": 1})
            ref = EvaluateAblation.model_validate({**ab.model_dump(mode="json"), "model": model.model_dump()})
            rows.append(
                (
                    "spectral-targeted",
                    f"per band, patch {patch}",
                    variant_section(pipe.pretrain, Variant("spectral-targeted", tasks, 0), ref),
                )
            )
    load = os.getloadavg()
    print(
        f"batch {args.batch}, tasks {tasks}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}"
    )
    head = " | ".join(f"s/step, {t} thread{'s' if t > 1 else ''} (CPU s)" for t in args.threads)
    print(f"| masking | layout | tokens/chip | {head} |\n|---|---|---|" + "---|" * len(args.threads))
    at_cfg: dict[str, tuple[float, float]] = {}
    for masking, layout, cfg in rows:
        times = []
        for th in args.threads:
            steps = 1 if layout == "per band, patch 4" else args.steps
            dt, cpu, tokens = _time(cfg, data, args.batch, steps, th)
            times.append(f"{dt:.2f} ({cpu:.2f})")
            if layout == "ablation" and th == pipe.pretrain.cpu_threads:
                at_cfg[masking] = (dt, cpu)
        m = cfg.model
        desc = layout if layout != "ablation" else f"patch {m.patch_size}, {m.band_group} bands/token"
        print(f"| {masking} | {desc} | {tokens:,} | " + " | ".join(times) + " |", flush=True)
    if at_cfg and ab.max_steps:
        cells = variants(ab)
        wall = sum(at_cfg[v.masking][0] for v in cells) * ab.max_steps
        cpu = sum(at_cfg[v.masking][1] for v in cells) * ab.max_steps
        print(
            f"\npretraining steps at cpu_threads {pipe.pretrain.cpu_threads}: {len(cells)} variants × {ab.max_steps} "
            f"steps = {wall / 60:.1f} min wall here, {cpu / 60:.1f} CPU-min "
            f"(mean {np.mean([w for w, _ in at_cfg.values()]):.2f} s/step); load now {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
