"""The pretraining loop: ``pretrain(cfg, chips, run_dir)`` — one GPU, many through torchrun, or CPU.

What it guarantees, and how:

- **Exact resume.** ``checkpoints/last.pt`` holds model, optimizer, scheduler, every RNG,
  the epoch and the number of batches already consumed in it, and the early-stopping
  state. The sampler's order is a pure function of (seed, epoch), masks are a pure
  function of (seed, step, chip id), so a resumed run replays exactly the batches and
  masks the uninterrupted run would have seen (bitwise on CPU with
  ``deterministic: true``).
- **DDP.** Started by ``torchrun`` (``WORLD_SIZE``/``RANK`` in the environment): gloo on
  CPU, nccl on CUDA; each process takes a strided shard of the global batch; losses are
  per-sample means, so gradient averaging equals the single-process step. Only rank 0
  writes files.
- **Speed.** DataLoader with workers, pinned memory and prefetch; bf16 autocast on CUDA
  (``amp: auto``); optional ``torch.compile``; the encoder only sees visible tokens.
- **No pickle.** Checkpoints load with ``weights_only=True``; final weights also go to
  ``model.safetensors``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from spectm.config import PretrainSection
from spectm.console import log
from spectm.errors import BadInputError, ConfigError
from spectm.model.band_groups import band_groups
from spectm.model.checkpoint import (
    export_safetensors,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from spectm.model.data import ChipDataset
from spectm.model.indices_torch import available_indices
from spectm.model.mae import MAEConfig, SpectralMAE, count_parameters
from spectm.model.masking import check_spatial_patches
from spectm.model.objective import (
    UncertaintyWeights,
    band_weights,
    compute_stats,
    curriculum_length,
    fixed_loss,
    losses,
    mask_params,
    normalise,
    sample_masks,
    token_validity,
)
from spectm.model.wavelengths import in_windows

METRIC_FIELDS = [
    "step",
    "epoch",
    "lr",
    "loss",
    "recon",
    "indices",
    "future",
    "grad_norm",
    "samples_per_s",
    "val_loss",
    "val_recon",
    "val_indices",
    "val_future",
]
FAULT_ENV = "SPECTM_FAULT_KILL_AFTER_STEP"  # test hook: SIGKILL self right after this step's checkpoint


@dataclass
class PretrainResult:
    run_dir: Path
    steps: int
    epochs_done: int
    stopped_early: bool
    best_val_loss: float | None
    final_loss: float
    params: int
    world_size: int
    report: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- helpers


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


def git_commit() -> str:
    """HEAD of the repository holding spectm (``+dirty`` when it has local changes), else 'unknown'."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def resolve_device(device: str) -> torch.device:
    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"unknown device '{device}'", "use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInputError("--device cuda but no CUDA GPU is visible", "use --device cpu or auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def _dist_setup(device: torch.device) -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def model_config(cfg: PretrainSection, n_indices: int) -> MAEConfig:
    """The model's config; grouped tokens record the windows their group edges follow (the masking's)."""
    windows = (
        [list(map(float, w)) for w in cfg.masking.spectral_targeted.windows_nm] if cfg.model.band_group > 1 else None
    )
    return MAEConfig(**cfg.model.model_dump(), n_indices=n_indices, group_windows=windows)


class _Metrics:
    """metrics.csv (+ TensorBoard when installed); rank 0 only."""

    def __init__(self, path: Path, resume_step: int | None, enabled: bool) -> None:
        self.enabled = enabled
        self.path = path
        self.tb = None
        if not enabled:
            return
        if resume_step is not None and path.exists():  # drop rows written after the checkpoint
            with path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            with path.open("w", newline="") as f:
                wr = csv.DictWriter(f, METRIC_FIELDS)
                wr.writeheader()
                wr.writerows(rows)
        elif not path.exists() or resume_step is None:
            with path.open("w", newline="") as f:
                csv.DictWriter(f, METRIC_FIELDS).writeheader()
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:
            self.tb = None

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, METRIC_FIELDS).writerow({k: row.get(k, "") for k in METRIC_FIELDS})
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "epoch") and isinstance(v, float):
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


# ---------------------------------------------------------------------------- core


class Pretrainer:
    """Holds model, data and state; :meth:`fit` runs the loop. Use :func:`pretrain`."""

    def __init__(
        self,
        cfg: PretrainSection,
        chips: Path | ChipDataset,
        run_dir: Path,
        device: str = "auto",
        val: ChipDataset | None = None,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.device = resolve_device(device)
        self.rank, self.world = _dist_setup(self.device)
        self.is_main = self.rank == 0
        if cfg.cpu_threads:
            torch.set_num_threads(cfg.cpu_threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(cfg.seed)
        max_bytes = int(cfg.max_in_memory_gb * (1 << 30))
        if isinstance(chips, ChipDataset):
            self.train_ds, self.val_ds = chips, val
            self.chips_path: str = "<in memory>"
        else:
            self.train_ds = ChipDataset.from_zarr(chips, "train", max_bytes)
            self.val_ds = ChipDataset.from_zarr(chips, "val", max_bytes)
            self.chips_path = str(chips)
        if self.val_ds is not None and len(self.val_ds) == 0:
            log.warning("the chips store has no 'val' chips: no validation, no early stopping")
            self.val_ds = None
        self.wavelengths = [float(w) for w in self.train_ds.wavelengths]
        self.index_names = available_indices(self.wavelengths, cfg.loss.index_names)
        dropped = [n for n in cfg.loss.index_names if n not in self.index_names]
        if dropped:
            log.warning("indices %s need bands this sensor lacks; index targets use %s", dropped, self.index_names)
        if "index-guided" in cfg.masking.strategies:
            ig = available_indices(self.wavelengths, cfg.masking.index_guided.indices)
            if not ig:
                raise ConfigError(
                    "index-guided masking: none of its indices can be computed from these bands",
                    "set pretrain.masking.index_guided.indices to indices the sensor supports",
                )
            cfg.masking.index_guided.indices = ig
        if cfg.batch_size % self.world:
            raise ConfigError(
                f"batch_size {cfg.batch_size} is not divisible by {self.world} processes",
                "use a global batch size that is a multiple of the process count",
            )
        if len(self.train_ds) < cfg.batch_size:
            raise BadInputError(
                f"{len(self.train_ds)} training chips is fewer than one batch ({cfg.batch_size})",
                "lower pretrain.batch_size or add chips",
            )
        self.local_bs = cfg.batch_size // self.world
        _, t_steps, _, chip_h, chip_w = self.train_ds.shape
        p = cfg.model.patch_size
        check_spatial_patches(cfg.masking.strategies, (chip_h // p) * (chip_w // p), chip_h, p)
        if t_steps < 2 and cfg.loss.future > 0:
            log.warning(
                "chips hold one time step: the 8-day-ahead task has no trend to learn from; "
                "cut chips with join.chip_time 2 or more"
            )
        self.stats = compute_stats(self.train_ds, self.wavelengths, self.index_names).to(self.device)
        self.bw = band_weights(self.wavelengths, cfg).to(self.device)
        self.wl_t = torch.tensor(self.wavelengths, device=self.device)
        self.mcfg = model_config(cfg, len(self.index_names))
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank
        self.model = SpectralMAE(self.mcfg).to(self.device)
        self.params = count_parameters(self.model)
        # grouped tokens: the masks are drawn per group (docs/model.md, Grouped bands)
        self.mask_groups = (
            band_groups(self.wavelengths, self.mcfg.band_group, self.mcfg.group_windows) if self.model.grouped else None
        )
        self.fwd: Any = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.fwd = DDP(
                self.model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                broadcast_buffers=False,
            )
        if cfg.compile:
            self.fwd = torch.compile(self.fwd, dynamic=True)
        decay = [q for n, q in self.model.named_parameters() if q.ndim >= 2 and "mask_token" not in n]
        no_decay = [q for n, q in self.model.named_parameters() if q.ndim < 2 or "mask_token" in n]
        self.uw: UncertaintyWeights | None = None
        if cfg.loss.weighting == "uncertainty":
            tasks = [t for t in ("reconstruction", "indices", "future") if getattr(cfg.loss, t) > 0]
            if not self.index_names and "indices" in tasks:
                tasks.remove("indices")
            self.uw = UncertaintyWeights(tasks).to(self.device)
            no_decay = no_decay + list(self.uw.parameters())
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr,
            betas=(0.9, 0.95),
        )
        self.sampler = ShardedSampler(len(self.train_ds), cfg.batch_size, self.world, self.rank, cfg.seed)
        self.steps_per_epoch = self.sampler.batches_per_epoch
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(s, cfg.warmup_steps, self.total_steps, cfg.min_lr_ratio)
        )
        amp = cfg.amp if cfg.amp != "auto" else ("bf16" if self.device.type == "cuda" else "off")
        self.amp = amp == "bf16"
        self.params_mask = mask_params(cfg, self.total_steps)
        # SIGMAE's curriculum: validation scores the regime of the current step, and early stopping waits
        # for the ramp to end (a harder mask raises the loss; that is not over-fitting)
        self.curriculum_end = (
            curriculum_length(cfg, self.total_steps) if "index-guided" in cfg.masking.strategies else 0
        )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.best_val: float | None = None
        self.bad_evals = 0
        self.stopped_early = False
        g = torch.Generator().manual_seed(cfg.seed)
        nw = cfg.num_workers
        self.loader = DataLoader(
            self.train_ds,
            batch_size=self.local_bs,
            sampler=self.sampler,
            num_workers=nw,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=cfg.prefetch_factor if nw else None,
            persistent_workers=nw > 0,
            worker_init_fn=_worker_init,
            generator=g,
            drop_last=True,
        )

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        return {
            "format": "spectm-pretrain-v1",
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "best_val": -1.0 if self.best_val is None else self.best_val,
            "bad_evals": self.bad_evals,
            "rng": rng_state(),
            "stats": self.stats.to(torch.device("cpu")).as_dict(),
            "model_config": json.dumps(asdict(self.mcfg)),
            "wavelengths": torch.tensor(self.wavelengths),
            "index_names": list(self.index_names),
            "loss_log_var": self.uw.log_var.detach().cpu() if self.uw is not None else torch.zeros(0),
        }

    def load_state(self, st: dict[str, Any]) -> None:
        if st.get("format") != "spectm-pretrain-v1":
            raise ConfigError(
                "checkpoint format is not spectm-pretrain-v1", "resume with the spectm version that wrote it"
            )
        if {**asdict(MAEConfig()), **json.loads(st["model_config"])} != asdict(self.mcfg):  # keys added later: defaults
            raise ConfigError(
                "the checkpoint's model config differs from the current config",
                "resume with the run's own config.yaml (pretrain.model must not change)",
            )
        self.model.load_state_dict(st["model"])
        if self.uw is not None:
            self.uw.log_var.data.copy_(st.get("loss_log_var", torch.zeros(len(self.uw.tasks))))
        self.opt.load_state_dict(st["optimizer"])
        self.sched.load_state_dict(st["scheduler"])
        self.step, self.epoch, self.batch_in_epoch = st["step"], st["epoch"], st["batch_in_epoch"]
        self.best_val = None if st["best_val"] < 0 else st["best_val"]
        self.bad_evals = st["bad_evals"]
        set_rng_state(st["rng"])

    def _save(self, name: str) -> None:
        if self.is_main:
            save_checkpoint(self.run_dir / "checkpoints" / name, self.state())
        if self.world > 1:
            dist.barrier()

    # ------------------------------------------------------------------ steps
    def _forward(
        self, batch: dict[str, torch.Tensor], step: int, module: Any, rng_step: int | None = None, training: bool = True
    ) -> dict[str, torch.Tensor]:
        """Masks, forward, losses; ``loss`` is the training objective, or the fixed-weight sum when
        not ``training`` (the validation criterion does not move with learned weights)."""
        cfg = self.cfg
        dev = self.device
        x_raw = batch["x"].to(dev, non_blocking=True)
        fut = batch["future"].to(dev, non_blocking=True)
        hasf = batch["has_future"].to(dev)
        days = batch["days"].to(dev)
        p = self.mcfg.patch_size
        mask = sample_masks(
            cfg,
            cfg.masking.strategies,
            self.params_mask,
            self.wavelengths,
            batch["x"],
            batch["index"],
            step,
            p,
            cfg.seed,
            rng_step,
            self.mask_groups,
        ).to(dev)
        tv = token_validity(x_raw, p)
        x_n = torch.nan_to_num(normalise(x_raw, self.stats, 2))
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.amp):
            out = module(x_n, self.wl_t, days, mask, tv)
        mask_px = self.model.unpatchify(mask[..., None].expand(*mask.shape, p * p), x_raw.shape[-2], x_raw.shape[-1])
        parts = losses(out, x_raw, fut, hasf, mask_px, self.stats, self.bw, self.wavelengths, self.index_names)
        parts["loss"] = self.uw(parts) if (self.uw is not None and training) else fixed_loss(cfg, parts)
        return parts

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean losses over the whole val split on the bare module, with the masks of the current step's
        regime (curriculum ratio and saliency weight) drawn the same way at every validation."""
        assert self.val_ds is not None
        self.model.eval()
        tot: dict[str, float] = {}
        n = 0
        loader = DataLoader(self.val_ds, batch_size=self.local_bs, shuffle=False)
        for batch in loader:
            parts = self._forward(batch, self.step, self.model, rng_step=0, training=False)
            bsz = len(batch["index"])
            for k, v in parts.items():
                tot[k] = tot.get(k, 0.0) + float(v) * bsz
            n += bsz
        self.model.train()
        return {f"val_{'loss' if k == 'loss' else k}": v / n for k, v in tot.items()}

    def fit(self) -> PretrainResult:
        cfg = self.cfg
        self.model.train()
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        metrics = _Metrics(self.run_dir / "metrics.csv", self.step if self.step else None, self.is_main)
        val_every = cfg.val_every or self.steps_per_epoch
        ckpt_every = cfg.checkpoint_every or self.steps_per_epoch
        fault = int(os.environ.get(FAULT_ENV, "-1"))
        win: dict[str, float] = {}
        win_n = 0
        t0 = time.perf_counter()
        seen = 0
        last_loss = float("nan")
        while self.step < self.total_steps and not self.stopped_early:
            self.sampler.epoch = self.epoch
            self.sampler.skip_batches = self.batch_in_epoch
            for batch in self.loader:
                parts = self._forward(batch, self.step, self.fwd)
                self.opt.zero_grad(set_to_none=True)
                parts["loss"].backward()
                if self.uw is not None and self.world > 1:  # outside DDP: average its gradient by hand
                    g = self.uw.log_var.grad
                    if g is not None:
                        dist.all_reduce(g)
                        g /= self.world
                gn = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip or float("inf"))
                lr = self.opt.param_groups[0]["lr"]
                self.opt.step()
                self.sched.step()
                self.step += 1
                self.batch_in_epoch += 1
                seen += cfg.batch_size
                for k, v in parts.items():
                    win[k] = win.get(k, 0.0) + float(v.detach())
                win_n += 1
                end_of_epoch = self.batch_in_epoch >= self.steps_per_epoch
                if end_of_epoch:
                    self.epoch += 1
                    self.batch_in_epoch = 0
                row: dict[str, Any] = {}
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    vals = torch.tensor([win[k] / win_n for k in ("loss", "recon", "indices", "future")])
                    if self.world > 1:
                        dist.all_reduce(vals)
                        vals /= self.world
                    dt = time.perf_counter() - t0
                    last_loss = float(vals[0])
                    row.update(
                        step=self.step,
                        epoch=self.epoch,
                        lr=lr,
                        loss=last_loss,
                        recon=float(vals[1]),
                        indices=float(vals[2]),
                        future=float(vals[3]),
                        grad_norm=float(gn),
                        samples_per_s=seen / dt if dt > 0 else float("nan"),
                    )
                    log.info(
                        "step %d/%d loss %.4f (recon %.4f idx %.4f fut %.4f) %.1f samples/s%s",
                        self.step,
                        self.total_steps,
                        last_loss,
                        vals[1],
                        vals[2],
                        vals[3],
                        row["samples_per_s"],
                        ""
                        if self.uw is None
                        else " weights " + " ".join(f"{k} {v:.3g}" for k, v in self.uw.weights().items()),
                    )
                    win, win_n, seen, t0 = {}, 0, 0, time.perf_counter()
                if self.val_ds is not None and (self.step % val_every == 0 or self.step == self.total_steps):
                    v = self.validate()
                    row.update(step=self.step, epoch=self.epoch, **v)
                    if self.step >= self.curriculum_end:
                        self._early_stopping(v["val_loss"])
                if row:
                    metrics.write(row)
                if self.step % ckpt_every == 0 or self.step == self.total_steps or self.stopped_early:
                    self._save("last.pt")
                    if self.step == fault:
                        os.kill(os.getpid(), signal.SIGKILL)
                if self.step >= self.total_steps or self.stopped_early or end_of_epoch:
                    break
        metrics.close()
        return PretrainResult(
            self.run_dir, self.step, self.epoch, self.stopped_early, self.best_val, last_loss, self.params, self.world
        )

    def _early_stopping(self, val_loss: float) -> None:
        if self.best_val is None or val_loss < self.best_val - 1e-6:
            self.best_val = val_loss
            self.bad_evals = 0
            if self.is_main:
                self.export(self.run_dir / "model.safetensors", tag="best")
        else:
            self.bad_evals += 1
            if self.cfg.early_stopping_patience and self.bad_evals >= self.cfg.early_stopping_patience:
                log.warning(
                    "early stopping at step %d: val loss has not improved for %d validations", self.step, self.bad_evals
                )
                self.stopped_early = True

    def export(self, path: Path, tag: str) -> None:
        """Weights + stats + config to safetensors (the artefact fine-tuning loads)."""
        export_safetensors(
            path,
            self.model.state_dict(),
            self.stats.to(torch.device("cpu")).as_dict(),
            {
                "model_config": asdict(self.mcfg),
                "wavelengths": self.wavelengths,
                "index_names": self.index_names,
                "step": self.step,
                "tag": tag,
                "format": "spectm-mae-v1",
                "unseen_bands": self.unseen_bands().tolist(),
                "downstream_bands": self.cfg.downstream_bands,
                "loss_weights": {} if self.uw is None else self.uw.weights(),
            },
        )

    def unseen_bands(self) -> np.ndarray:
        """(C,) bool: bands the encoder never sees in pretraining — the spectral-targeted windows,
        hidden at every step whatever else is listed (masks combine by union); none otherwise."""
        m = self.cfg.masking
        if "spectral-targeted" not in m.strategies:
            return np.zeros(len(self.wavelengths), dtype=bool)
        return in_windows(self.wavelengths, [tuple(w) for w in m.spectral_targeted.windows_nm])

    def cleanup(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
