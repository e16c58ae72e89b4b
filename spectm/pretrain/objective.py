"""The multi-task pretraining objective: normalisation, masks, targets and losses.

All three losses are **per-sample means, averaged over the batch**. That choice (rather
than one mean over all masked tokens of the batch) makes the loss of a global batch
equal to the mean of its shards' losses, so DDP's gradient averaging reproduces a
single-process step on the same global batch exactly.

- reconstruction: MSE on normalised values of *hidden* tokens' valid pixels, each band
  weighted 1 except the 686–694 nm O2-B artefact bands (``artefact_band_weight``,
  default 0.1; docs/model.md);
- indices: MSE between predicted and true indices (CI, SS665, NDCI by default),
  computed from the *unmasked* input spectrum and standardised with training statistics;
- future: MSE on the normalised 8-day-ahead spectrum (samples without a future target
  contribute 0 and are counted).

The tasks combine with fixed weights or with learned homoscedastic-uncertainty weights
(:class:`UncertaintyWeights`, Kendall, Gal & Cipolla, CVPR 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from spectm.config import PretrainSection
from spectm.pretrain.band_groups import expand_to_bands, group_label_wavelengths
from spectm.pretrain.indices_torch import compute_indices
from spectm.pretrain.masking import build_mask, patch_saliency
from spectm.pretrain.wavelengths import in_windows


@dataclass
class Stats:
    """Training-set statistics stored with the model (normalisation is part of the model)."""

    band_mean: torch.Tensor  # (C,)
    band_std: torch.Tensor  # (C,)
    index_mean: torch.Tensor  # (K,)
    index_std: torch.Tensor  # (K,)

    def to(self, device: torch.device) -> Stats:
        return Stats(*(t.to(device) for t in (self.band_mean, self.band_std, self.index_mean, self.index_std)))

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {
            "band_mean": self.band_mean,
            "band_std": self.band_std,
            "index_mean": self.index_mean,
            "index_std": self.index_std,
        }


def curriculum_length(cfg: PretrainSection, total_steps: int) -> int:
    """``index_guided.curriculum_steps``, or half the run when it is null (the ramp then ends mid-run,
    so the second half trains, and validates, in the final regime)."""
    steps = cfg.masking.index_guided.curriculum_steps
    return max(1, total_steps // 2) if steps is None else steps


def mask_params(cfg: PretrainSection, total_steps: int) -> dict[str, dict]:
    """Each strategy's keyword arguments for :func:`spectm.pretrain.masking.build_mask`."""
    m = cfg.masking
    return {
        "random": {"ratio": m.random.ratio, "windows": [tuple(w) for w in m.spectral_targeted.windows_nm]},
        "spectral-targeted": {
            "windows": [tuple(w) for w in m.spectral_targeted.windows_nm],
            "extra_random_ratio": m.spectral_targeted.extra_random_ratio,
        },
        "spatial-spectral": {
            "spatial_ratio": m.spatial_spectral.spatial_ratio,
            "spectral_ratio": m.spatial_spectral.spectral_ratio,
        },
        "index-guided": {
            "ratio_start": m.index_guided.ratio_start,
            "ratio_end": m.index_guided.ratio_end,
            "curriculum_steps": curriculum_length(cfg, total_steps),
        },
    }


def sample_masks(
    cfg: PretrainSection,
    strategies: Sequence[str],
    params: dict[str, dict],
    wavelengths: Sequence[float],
    x_raw: torch.Tensor,
    chip_ids: torch.Tensor,
    step: int,
    patch: int,
    seed: int,
    rng_step: int | None = None,
    groups: np.ndarray | None = None,
) -> torch.Tensor:
    """(B,T,P,C) masks, one generator per sample seeded by (seed, ``rng_step``, chip id).

    With ``groups`` (``(G,k)`` band indices of grouped tokens, :mod:`spectm.pretrain.band_groups`) the
    strategies draw on the ``(T,P,G)`` token grid — each group labelled by its first band's wavelength,
    exact for window tests since no group straddles a window edge — and the mask is expanded to bands.

    Seeding by the chip id, not the batch position or the process rank, is what makes a
    sample's mask independent of how batches are sharded or resumed. ``step`` sets the
    curriculum's regime; ``rng_step`` (default: ``step``) only the random draw, so validation
    can score the current regime (``step``) with the same draw every time (``rng_step`` 0).
    """
    b, t, c, h, w = x_raw.shape
    n_p = (h // patch) * (w // patch)
    saliency = None
    if "index-guided" in strategies:
        names = cfg.masking.index_guided.indices
        idx = compute_indices(x_raw, wavelengths, names)
        saliency = patch_saliency(idx, patch, cfg.masking.index_guided.alpha)
    token_wl, n_tok = list(wavelengths), c
    if groups is not None:
        token_wl, n_tok = group_label_wavelengths(wavelengths, groups), len(groups)
    masks = []
    for i in range(b):
        rng = np.random.default_rng([seed, max(step if rng_step is None else rng_step, 0), int(chip_ids[i])])
        sal = None if saliency is None else saliency[i : i + 1]
        masks.append(build_mask(strategies, params, token_wl, (1, t, n_p, n_tok), rng, step, sal))
    mask = np.concatenate(masks)
    if groups is not None:
        mask = expand_to_bands(mask, groups, c)
    return torch.from_numpy(np.ascontiguousarray(mask))


TASK_PARTS = {"reconstruction": "recon", "indices": "indices", "future": "future"}  # loss key → parts key


class UncertaintyWeights(torch.nn.Module):
    """Learned task weighting: ``Σ_i ½·exp(−s_i)·L_i + ½·s_i`` with ``s_i = log σ_i²`` per task.

    Kendall, Gal & Cipolla (CVPR 2018), the regression form: each task's Gaussian likelihood has a
    learned homoscedastic noise σ_i, so a task whose loss stays large is down-weighted, and the
    ``½·s_i`` term keeps σ from growing without bound. Only tasks with a fixed weight > 0 take
    part (a weight of 0 still switches a task off, as the ablation's task cells need); ``s``
    starts at 0 (every weight ½, so the first steps match fixed weights of ½).
    """

    def __init__(self, tasks: Sequence[str]) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.log_var = torch.nn.Parameter(torch.zeros(len(self.tasks)))

    def forward(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        losses_ = torch.stack([parts[TASK_PARTS[t]].float() for t in self.tasks])
        return (0.5 * torch.exp(-self.log_var) * losses_ + 0.5 * self.log_var).sum()

    def weights(self) -> dict[str, float]:
        """The current effective weights ``½·exp(−s_i)`` per task (for logs and the report)."""
        return {t: float(0.5 * torch.exp(-v)) for t, v in zip(self.tasks, self.log_var.detach(), strict=True)}


def loss_weights(cfg: PretrainSection, index_names: Sequence[str], device: torch.device) -> UncertaintyWeights | None:
    """Learned per-task loss weights (``loss.weighting: uncertainty``) over the tasks in use, else None."""
    if cfg.loss.weighting != "uncertainty":
        return None
    tasks = [t for t in ("reconstruction", "indices", "future") if getattr(cfg.loss, t) > 0]
    if not index_names and "indices" in tasks:
        tasks.remove("indices")
    return UncertaintyWeights(tasks).to(device)


def unseen_bands(cfg: PretrainSection, wavelengths: Sequence[float]) -> np.ndarray:
    """(C,) bool: bands the encoder never sees in pretraining — the spectral-targeted windows,
    hidden at every step whatever else is listed (masks combine by union); none otherwise."""
    m = cfg.masking
    if "spectral-targeted" not in m.strategies:
        return np.zeros(len(wavelengths), dtype=bool)
    return in_windows(wavelengths, [tuple(w) for w in m.spectral_targeted.windows_nm])


def fixed_loss(cfg: PretrainSection, parts: dict[str, torch.Tensor]) -> torch.Tensor:
    """``Σ weight_i·L_i`` with the config's fixed weights (also the validation criterion)."""
    lw = cfg.loss
    return lw.reconstruction * parts["recon"] + lw.indices * parts["indices"] + lw.future * parts["future"]


def band_weights(wavelengths: Sequence[float], cfg: PretrainSection) -> torch.Tensor:
    w = np.ones(len(wavelengths), dtype=np.float32)
    w[in_windows(wavelengths, [tuple(cfg.loss.artefact_window_nm)])] = cfg.loss.artefact_band_weight
    return torch.from_numpy(w)


def _per_sample_mse(err2: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted mean of ``err2`` per sample (dim 0); 0 where a sample has no weight."""
    dims = tuple(range(1, err2.dim()))
    num = (err2 * weight).sum(dims)
    den = weight.sum(dims)
    return torch.where(den > 0, num / den.clamp_min(1e-12), torch.zeros_like(num))


def normalise(x: torch.Tensor, stats: Stats, band_dim: int) -> torch.Tensor:
    shape = [1] * x.dim()
    shape[band_dim] = -1
    return (x - stats.band_mean.view(shape)) / stats.band_std.view(shape)


def losses(
    out: dict[str, torch.Tensor],
    x_raw: torch.Tensor,
    future_raw: torch.Tensor,
    has_future: torch.Tensor,
    mask_px: torch.Tensor,
    stats: Stats,
    bw: torch.Tensor,
    wavelengths: Sequence[float],
    index_names: Sequence[str],
) -> dict[str, torch.Tensor]:
    """Per-batch losses (means over samples of per-sample means); see the module docstring."""
    valid = torch.isfinite(x_raw)
    target = torch.nan_to_num(normalise(x_raw, stats, 2))
    w = (mask_px & valid).float() * bw.view(1, 1, -1, 1, 1)
    rec = _per_sample_mse((out["recon"].float() - target) ** 2, w)

    if index_names:
        idx = compute_indices(x_raw, wavelengths, index_names)  # (B,T,K,H,W)
        idx_n = (idx - stats.index_mean.view(1, 1, -1, 1, 1)) / stats.index_std.view(1, 1, -1, 1, 1)
        iv = torch.isfinite(idx_n).float()
        ind = _per_sample_mse((out["indices"].float() - torch.nan_to_num(idx_n)) ** 2, iv)
    else:
        ind = torch.zeros_like(rec)

    fv = (torch.isfinite(future_raw) & has_future.view(-1, 1, 1, 1)).float()
    fut_t = torch.nan_to_num(normalise(future_raw, stats, 1))
    fut = _per_sample_mse((out["future"].float() - fut_t) ** 2, fv)
    return {"recon": rec.mean(), "indices": ind.mean(), "future": fut.mean()}


def token_validity(x_raw: torch.Tensor, patch: int) -> torch.Tensor:
    """(B,T,P,C): does the token have at least one valid pixel?"""
    b, t, c, h, w = x_raw.shape
    v = torch.isfinite(x_raw).reshape(b, t, c, h // patch, patch, w // patch, patch)
    return v.any(dim=(4, 6)).permute(0, 1, 3, 4, 2).reshape(b, t, -1, c)


def compute_stats(dataset, wavelengths: Sequence[float], index_names: Sequence[str], max_chips: int = 512) -> Stats:
    """Band and index means/stds from the training chips."""
    mean, std = dataset.band_stats(max_chips)
    n = len(dataset)
    pick = np.unique(np.linspace(0, n - 1, min(n, max_chips)).astype(int))
    if index_names:
        x = torch.stack([dataset[int(i)]["x"] for i in pick])
        idx = compute_indices(x, wavelengths, index_names).transpose(0, 2).reshape(len(index_names), -1)
        im = torch.nanmean(idx, dim=1)
        isd = torch.sqrt(torch.nanmean((idx - im[:, None]) ** 2, dim=1)).clamp_min(1e-8)
    else:
        im = torch.zeros(0)
        isd = torch.ones(0)
    return Stats(torch.from_numpy(mean), torch.from_numpy(std), im.float(), isd.float())
