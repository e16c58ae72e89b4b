"""What the trainer sees, and when: the seeded sample order, the optimiser and its learning-rate schedule.

Exact resume rests on this module: the order of the chips is a pure function of (seed,
epoch) and can start mid-epoch (:class:`ShardedSampler`), and the learning rate is a pure
function of the step (:func:`lr_factor`), so a resumed run replays the batches and the
rates of the uninterrupted one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from spectm.config import PretrainSection


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _worker_init(worker_id: int) -> None:
    """Each DataLoader worker gets a distinct, reproducible seed (torch's base seed + id)."""
    s = torch.initial_seed() % (2**32)
    np.random.seed((s + worker_id) % (2**32))
    random.seed(s + worker_id)


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to 1, then cosine down to ``min_ratio`` at ``total``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    prog = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * prog))


class ShardedSampler(Sampler[int]):
    """Seeded shuffle per epoch, strided over processes, resumable mid-epoch.

    Rank r of W takes positions r, r+W, … of the epoch's permutation (truncated to a
    whole number of global batches), like ``DistributedSampler`` with ``drop_last``; so the
    union of the ranks' k-th local batches is the single-process k-th global batch.
    ``skip_batches`` starts the next iteration after that many local batches (resume).
    """

    def __init__(self, n: int, global_batch: int, world: int, rank: int, seed: int) -> None:
        self.n, self.gb, self.world, self.rank, self.seed = n, global_batch, world, rank, seed
        self.epoch = 0
        self.skip_batches = 0
        self.batches_per_epoch = n // global_batch

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.skip_batches) * (self.gb // self.world)

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)[: self.batches_per_epoch * self.gb]
        mine = perm[self.rank :: self.world].tolist()
        start = self.skip_batches * (self.gb // self.world)
        self.skip_batches = 0
        return iter(mine[start:])


def make_loader(
    ds: Dataset, local_bs: int, sampler: ShardedSampler, cfg: PretrainSection, device: torch.device
) -> DataLoader:
    """The training DataLoader: workers, pinned memory on CUDA, prefetch, seeded workers."""
    nw = cfg.num_workers
    return DataLoader(
        ds,
        batch_size=local_bs,
        sampler=sampler,
        num_workers=nw,
        pin_memory=device.type == "cuda",
        prefetch_factor=cfg.prefetch_factor if nw else None,
        persistent_workers=nw > 0,
        worker_init_fn=_worker_init,
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=True,
    )


def make_optimizer(
    model: torch.nn.Module, extra_no_decay: list[torch.nn.Parameter], cfg: PretrainSection
) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not biases, norms, the mask token,
    nor ``extra_no_decay``: the learned loss weights)."""
    decay = [q for n, q in model.named_parameters() if q.ndim >= 2 and "mask_token" not in n]
    no_decay = [q for n, q in model.named_parameters() if q.ndim < 2 or "mask_token" in n]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay + extra_no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: PretrainSection, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up then cosine (:func:`lr_factor`) over ``total_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, cfg.warmup_steps, total_steps, cfg.min_lr_ratio)
    )


__all__ = [
    "ShardedSampler",
    "lr_factor",
    "make_loader",
    "make_optimizer",
    "make_scheduler",
    "seed_everything",
]
