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

import json
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from spectm.config import PretrainSection
from spectm.console import log
from spectm.errors import ConfigError
from spectm.pretrain.band_groups import band_groups
from spectm.pretrain.checkpoint import (
    export_safetensors,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.distributed import barrier, dist_setup, mean_over_ranks, resolve_device, shutdown, wrap_model
from spectm.pretrain.mae import MAEConfig, SpectralMAE, count_parameters
from spectm.pretrain.metrics_log import LossWindow, MetricsWriter
from spectm.pretrain.objective import (
    band_weights,
    compute_stats,
    curriculum_length,
    fixed_loss,
    loss_weights,
    losses,
    mask_params,
    normalise,
    sample_masks,
    token_validity,
    unseen_bands,
)
from spectm.pretrain.pretrain_inputs import load_inputs, model_config
from spectm.pretrain.schedule import ShardedSampler, make_loader, make_optimizer, make_scheduler, seed_everything

FAULT_ENV = "SPECTM_FAULT_KILL_AFTER_STEP"  # test hook: SIGKILL self right after this step's checkpoint
_LOGGED = ("loss", "recon", "indices", "future")


@dataclass
class FitOutcome:
    """What :meth:`Pretrainer.fit` ended with; :func:`spectm.pretrain.pretrain_run` turns it into
    the stage's :class:`spectm.pretrain.result.PretrainResult` once the report is written."""

    run_dir: Path
    steps: int
    epochs_done: int
    stopped_early: bool
    best_val_loss: float | None
    final_loss: float
    params: int
    world_size: int


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
        self.rank, self.world = dist_setup(self.device)
        self.is_main = self.rank == 0
        if cfg.cpu_threads:
            torch.set_num_threads(cfg.cpu_threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        seed_everything(cfg.seed)
        inputs = load_inputs(cfg, chips, val, self.world)
        self.train_ds, self.val_ds, self.chips_path = inputs.train_ds, inputs.val_ds, inputs.chips_path
        self.wavelengths, self.index_names = inputs.wavelengths, inputs.index_names
        self.local_bs = cfg.batch_size // self.world
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
        self.fwd: Any = wrap_model(self.model, self.device, self.world, cfg.compile)
        self.uw = loss_weights(cfg, self.index_names, self.device)
        self.opt = make_optimizer(self.model, [] if self.uw is None else list(self.uw.parameters()), cfg)
        self.sampler = ShardedSampler(len(self.train_ds), cfg.batch_size, self.world, self.rank, cfg.seed)
        self.steps_per_epoch = self.sampler.batches_per_epoch
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch
        self.sched = make_scheduler(self.opt, cfg, self.total_steps)
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
        self.loader = make_loader(self.train_ds, self.local_bs, self.sampler, cfg, self.device)

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
        barrier(self.world)

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

    def fit(self) -> FitOutcome:
        cfg = self.cfg
        self.model.train()
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        metrics = MetricsWriter(self.run_dir / "metrics.csv", self.step if self.step else None, self.is_main)
        val_every = cfg.val_every or self.steps_per_epoch
        ckpt_every = cfg.checkpoint_every or self.steps_per_epoch
        fault = int(os.environ.get(FAULT_ENV, "-1"))
        window = LossWindow()
        last_loss = float("nan")
        while self.step < self.total_steps and not self.stopped_early:
            self.sampler.epoch = self.epoch
            self.sampler.skip_batches = self.batch_in_epoch
            for batch in self.loader:
                parts, gn, lr = self._train_step(batch)
                window.add(parts, cfg.batch_size)
                end_of_epoch = self._advance()
                row: dict[str, Any] = {}
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    row = self._log_window(window, lr, gn)
                    last_loss = row["loss"]
                row.update(self._validate_due(val_every))
                if row:
                    metrics.write(row)
                if self.step % ckpt_every == 0 or self.step == self.total_steps or self.stopped_early:
                    self._save("last.pt")
                    if self.step == fault:
                        os.kill(os.getpid(), signal.SIGKILL)
                if self.step >= self.total_steps or self.stopped_early or end_of_epoch:
                    break
        metrics.close()
        return FitOutcome(
            self.run_dir, self.step, self.epoch, self.stopped_early, self.best_val, last_loss, self.params, self.world
        )

    def _train_step(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor, float]:
        """One optimiser step: (loss parts, gradient norm before clipping, learning rate used)."""
        parts = self._forward(batch, self.step, self.fwd)
        self.opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        if self.uw is not None and self.uw.log_var.grad is not None:  # outside DDP: average its gradient by hand
            mean_over_ranks(self.uw.log_var.grad, self.world)
        gn = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip or float("inf"))
        lr = self.opt.param_groups[0]["lr"]
        self.opt.step()
        self.sched.step()
        return parts, gn, lr

    def _advance(self) -> bool:
        """Count the step; True when it ended an epoch."""
        self.step += 1
        self.batch_in_epoch += 1
        if self.batch_in_epoch < self.steps_per_epoch:
            return False
        self.epoch += 1
        self.batch_in_epoch = 0
        return True

    def _log_window(self, window: LossWindow, lr: float, gn: torch.Tensor) -> dict[str, Any]:
        """The metrics row of the steps since the last one (averaged over processes), logged."""
        vals = mean_over_ranks(window.means(_LOGGED), self.world)
        row: dict[str, Any] = dict(
            step=self.step,
            epoch=self.epoch,
            lr=lr,
            loss=float(vals[0]),
            recon=float(vals[1]),
            indices=float(vals[2]),
            future=float(vals[3]),
            grad_norm=float(gn),
            samples_per_s=window.samples_per_s(),
        )
        weights = (
            "" if self.uw is None else " weights " + " ".join(f"{k} {v:.3g}" for k, v in self.uw.weights().items())
        )
        log.info(
            "step %d/%d loss %.4f (recon %.4f idx %.4f fut %.4f) %.1f samples/s%s",
            self.step,
            self.total_steps,
            row["loss"],
            vals[1],
            vals[2],
            vals[3],
            row["samples_per_s"],
            weights,
        )
        window.reset()
        return row

    def _validate_due(self, val_every: int) -> dict[str, Any]:
        """Validation metrics when one is due at this step (and the early-stopping check)."""
        if self.val_ds is None or not (self.step % val_every == 0 or self.step == self.total_steps):
            return {}
        v = self.validate()
        if self.step >= self.curriculum_end:
            self._early_stopping(v["val_loss"])
        return {"step": self.step, "epoch": self.epoch, **v}

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
        """(C,) bool: bands the encoder never sees in pretraining (:func:`objective.unseen_bands`)."""
        return unseen_bands(self.cfg, self.wavelengths)

    def cleanup(self) -> None:
        shutdown(self.world)
