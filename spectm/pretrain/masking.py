"""Masking strategies for masked-autoencoder pretraining.

A sample is tokenised into a grid of ``(T, P, C)`` tokens: time step × spatial patch ×
band (see :mod:`spectm.pretrain.mae`). Every strategy here is a *pure function* of the
band wavelengths, the token-grid shape, a numpy ``Generator`` and the training step
(plus, for ``index-guided``, a per-patch saliency computed from the data), and returns
a boolean array of shape ``(B, T, P, C)`` where ``True`` = hidden. Purity is what makes
exact resume and DDP equivalence possible: the trainer seeds one generator per
(sample, step), so a sample gets the same mask whatever process or batch it lands in.

Strategies (names as in the config):

``random``            MAE baseline: exactly ``round(ratio·N)`` of the N tokens, uniformly.
                      ``ratio="match_targeted"`` takes the share of tokens the targeted
                      mask hides on the same bands (:func:`targeted_fraction`), so an
                      ablation compares two strategies at one mask ratio.
``spectral-targeted`` SpecTM: exactly the bands whose nominal wavelength lies in the
                      windows (default 615–640, 660–680, 695–720 nm), at every time step
                      and patch -- deterministic, the paper's ``m_b = 1[b ∈ D]`` -- and
                      nothing else by default; ``extra_random_ratio`` > 0 (the older
                      default, 0.5) also hides that share of the *other* tokens at random.
``spatial-spectral``  Laprade et al. 2025, two stages. Spatial: per time step, exactly
                      ``round(spatial_ratio·P)`` patches are hidden in all bands. Spectral:
                      per sample, exactly ``round(spectral_ratio·C)`` bands are hidden in
                      every remaining patch and time step (whole bands, so they must be
                      recovered from cross-spectral context). Ratios are ours (50 % + 50 %
                      as HyperspectralMAE; total 75 %).
``index-guided``      SIGMAE-style (our adaptation): patch saliency
                      ``s = mean|index| + α·std(index)`` over water indices; the ratio
                      ramps linearly ``ratio_start → ratio_end`` over ``curriculum_steps``
                      and the choice ramps from random (easy) to salient-first (hard):
                      ``score = (1-λ)·u + λ·rank(s)`` with ``λ = min(1, step/curriculum_steps)``;
                      the top ``round(ratio·N)`` tokens by score are hidden.

Strategies combine by union (a token hidden by any listed strategy is hidden).
``spatial-spectral`` and ``index-guided`` choose among spatial patches, so a token grid with
one patch gives them nothing to choose: :func:`check_spatial_patches` makes that a config error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

# re-exported: the check is a config rule (spectm.config), the masks below apply it too
from spectm.config.model_stages import check_spatial_patches as check_spatial_patches
from spectm.errors import ConfigError
from spectm.pretrain.wavelengths import SPECTM_WINDOWS_NM, in_windows

if TYPE_CHECKING:  # torch loads only where saliency is computed: the config validator imports this module
    import torch

STRATEGIES = ("random", "spectral-targeted", "spatial-spectral", "index-guided")
MATCH_TARGETED = "match_targeted"
DEFAULT_WINDOWS = SPECTM_WINDOWS_NM  # SpecTM's three windows (docs/model.md)

Shape = tuple[int, int, int, int]  # (B, T, P, C)


def _check_ratio(name: str, r: float) -> None:
    if not 0.0 <= r < 1.0:
        raise ConfigError(f"mask ratio {name}={r} is outside [0, 1)", "use a fraction such as 0.75")


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean (B, N): True for the k highest scores of each row (exactly k)."""
    b, n = scores.shape
    out = np.zeros((b, n), dtype=bool)
    if k <= 0:
        return out
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.put_along_axis(out, idx, True, axis=1)
    return out


def targeted_fraction(wavelengths: Sequence[float], windows: Sequence[tuple[float, float]] = DEFAULT_WINDOWS) -> float:
    """Share of tokens the (deterministic) spectral-targeted mask hides: targeted bands / all bands.

    The same at every time step and patch, so it is also the token share; 46/172 = 0.267 on PACE.
    """
    if len(wavelengths) == 0:
        raise ConfigError("no wavelengths given", "pass the sensor's band centres")
    return float(in_windows(wavelengths, [tuple(w) for w in windows]).mean())


def random_mask(shape: Shape, rng: np.random.Generator, ratio: float = 0.75) -> np.ndarray:
    """Hide exactly ``round(ratio·T·P·C)`` tokens per sample, uniformly at random."""
    _check_ratio("ratio", ratio)
    b, t, p, c = shape
    n = t * p * c
    return _top_k(rng.random((b, n)), round(ratio * n)).reshape(shape)


def spectral_targeted_mask(
    wavelengths: Sequence[float],
    shape: Shape,
    rng: np.random.Generator,
    windows: Sequence[tuple[float, float]] = DEFAULT_WINDOWS,
    extra_random_ratio: float = 0.0,
) -> np.ndarray:
    """Hide every token of the bands inside ``windows`` (and, if ``extra_random_ratio`` > 0, that share of the rest)."""
    _check_ratio("extra_random_ratio", extra_random_ratio)
    b, t, p, c = shape
    if len(wavelengths) != c:
        raise ConfigError(f"{len(wavelengths)} wavelengths for {c} bands", "pass one wavelength per band")
    band = in_windows(wavelengths, windows)
    mask = np.broadcast_to(band, shape).copy()
    if extra_random_ratio > 0:
        n_other = int((~band).sum()) * t * p
        scores = rng.random((b, t * p * c))
        scores[mask.reshape(b, -1)] = -1.0  # already hidden: never drawn again
        mask |= _top_k(scores, round(extra_random_ratio * n_other)).reshape(shape)
    return mask


def spatial_spectral_mask(
    shape: Shape, rng: np.random.Generator, spatial_ratio: float = 0.5, spectral_ratio: float = 0.5
) -> np.ndarray:
    """Two-stage mask: whole patches first (per time step), then whole bands (per sample)."""
    _check_ratio("spatial_ratio", spatial_ratio)
    _check_ratio("spectral_ratio", spectral_ratio)
    b, t, p, c = shape
    spatial = _top_k(rng.random((b * t, p)), round(spatial_ratio * p)).reshape(b, t, p, 1)
    spectral = _top_k(rng.random((b, c)), round(spectral_ratio * c)).reshape(b, 1, 1, c)
    return np.broadcast_to(spatial | spectral, shape).copy()


def curriculum(step: int, ratio_start: float, ratio_end: float, curriculum_steps: int) -> tuple[float, float]:
    """(mask ratio, saliency weight λ) at ``step``: both ramp linearly, then stay."""
    frac = 1.0 if curriculum_steps <= 0 else min(1.0, max(0, step) / curriculum_steps)
    return ratio_start + (ratio_end - ratio_start) * frac, frac


def index_guided_mask(
    shape: Shape,
    rng: np.random.Generator,
    step: int,
    saliency: np.ndarray,
    ratio_start: float = 0.75,
    ratio_end: float = 0.9,
    curriculum_steps: int = 1000,
) -> np.ndarray:
    """Hide the top ``round(ratio(step)·N)`` tokens by a random→salient curriculum score.

    ``saliency`` is ``(B, T, P)`` (higher = more salient; NaN = no valid pixels, ranked
    last). Tokens inherit their patch's saliency rank; a random term orders the bands
    inside a patch (it is scaled below one rank step, so it never reorders patches).
    """
    _check_ratio("ratio_start", ratio_start)
    _check_ratio("ratio_end", ratio_end)
    b, t, p, c = shape
    if saliency.shape != (b, t, p):
        raise ValueError(f"saliency shape {saliency.shape} != {(b, t, p)}")
    ratio, lam = curriculum(step, ratio_start, ratio_end, curriculum_steps)
    tp = t * p
    sal = np.where(np.isfinite(saliency), saliency, -np.inf).reshape(b, tp)
    rank = np.argsort(np.argsort(sal, axis=1, kind="stable"), axis=1).astype(np.float64)  # 0 = least
    jitter = rng.random((b, tp, c))
    salient = (rank[:, :, None] + 0.5 * jitter) / tp  # in [0, 1), patch order preserved
    u = rng.random((b, tp, c))
    score = (1.0 - lam) * u + lam * salient
    return _top_k(score.reshape(b, -1), round(ratio * tp * c)).reshape(shape)


def patch_saliency(indices: torch.Tensor, patch: int, alpha: float = 1.0) -> np.ndarray:
    """SIGMAE-style saliency per (time, patch) from per-pixel indices ``(B, T, K, H, W)``.

    Per index k: ``s_k = mean|I_k| + α·std(I_k)`` over the patch's valid pixels, divided by
    the sample's mean ``s_k`` so indices of different scale (CI ~1e-3, NDCI ~0.3) weigh the
    same; then averaged over k. Returns ``(B, T, P)`` (NaN where a patch has no valid pixel).
    """
    import torch

    b, t, k, h, w = indices.shape
    x = indices.detach().float().reshape(b, t, k, h // patch, patch, w // patch, patch)
    x = x.permute(0, 1, 2, 3, 5, 4, 6).reshape(b, t, k, -1, patch * patch)
    valid = torch.isfinite(x)
    n = valid.sum(-1).clamp_min(1)
    xz = torch.where(valid, x, torch.zeros_like(x))
    mean_abs = xz.abs().sum(-1) / n
    mean = xz.sum(-1) / n
    var = (torch.where(valid, x - mean[..., None], torch.zeros_like(x)) ** 2).sum(-1) / n
    s = mean_abs + alpha * var.sqrt()  # (B, T, K, P)
    s = torch.where(valid.any(-1), s, torch.full_like(s, float("nan")))
    scale = torch.nanmean(s.transpose(1, 2).reshape(b, k, -1), dim=-1).clamp_min(1e-12)  # (B, K)
    s = s / scale[:, None, :, None]
    return torch.nanmean(s, dim=2).cpu().numpy() if k else np.zeros((b, t, x.shape[3]))


def build_mask(
    strategies: Sequence[str],
    params: dict[str, dict[str, float | int | list]],
    wavelengths: Sequence[float],
    shape: Shape,
    rng: np.random.Generator,
    step: int,
    saliency: np.ndarray | None = None,
) -> np.ndarray:
    """Union of the listed strategies' masks; ``params[name]`` are that strategy's keywords."""
    if not strategies:
        raise ConfigError("no masking strategy given", f"list at least one of: {', '.join(STRATEGIES)}")
    mask = np.zeros(shape, dtype=bool)
    for name in strategies:
        kw = dict(params.get(name, {}))
        if name == "random":
            if kw.get("ratio") == MATCH_TARGETED:
                kw["ratio"] = targeted_fraction(wavelengths, kw.pop("windows", DEFAULT_WINDOWS))
            kw.pop("windows", None)
            mask |= random_mask(shape, rng, **kw)
        elif name == "spectral-targeted":
            kw["windows"] = [tuple(w) for w in kw.get("windows", DEFAULT_WINDOWS)]
            mask |= spectral_targeted_mask(wavelengths, shape, rng, **kw)
        elif name == "spatial-spectral":
            mask |= spatial_spectral_mask(shape, rng, **kw)
        elif name == "index-guided":
            if saliency is None:
                raise ValueError("index-guided masking needs a saliency array")
            mask |= index_guided_mask(shape, rng, step, saliency, **kw)
        else:
            raise ConfigError(f"unknown masking strategy '{name}'", f"use some of: {', '.join(STRATEGIES)}")
    return mask
