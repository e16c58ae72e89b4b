"""Each masking strategy hides exactly what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectm.errors import ConfigError
from spectm.model.masking import (
    build_mask,
    curriculum,
    index_guided_mask,
    patch_saliency,
    random_mask,
    spatial_spectral_mask,
    spectral_targeted_mask,
)
from spectm.model.wavelengths import PACE_OCI_WAVELENGTHS

WL = list(PACE_OCI_WAVELENGTHS)
TARGETED = list(range(99, 110)) + list(range(125, 142)) + list(range(154, 172))  # 11 + 17 + 18 = 46


def test_spectral_targeted_hides_exactly_the_46_window_bands() -> None:
    shape = (3, 2, 4, 172)
    m = spectral_targeted_mask(WL, shape, np.random.default_rng(0))
    assert m.shape == shape
    hidden_bands = np.flatnonzero(m[0, 0, 0])
    assert hidden_bands.tolist() == TARGETED
    assert (m == m[:1, :1, :1]).all()  # same bands at every sample, time step and patch
    # deterministic: another generator gives the same mask
    assert np.array_equal(m, spectral_targeted_mask(WL, shape, np.random.default_rng(99)))


def test_spectral_targeted_plus_random_elsewhere() -> None:
    shape = (2, 1, 4, 172)
    m = spectral_targeted_mask(WL, shape, np.random.default_rng(1), extra_random_ratio=0.5)
    assert m[..., TARGETED].all()
    others = np.setdiff1d(np.arange(172), TARGETED)
    n_other = others.size * 4
    for b in range(2):
        assert m[b][..., others].sum() == round(0.5 * n_other)


def test_random_mask_exact_count_and_varies() -> None:
    shape = (4, 2, 4, 10)
    m = random_mask(shape, np.random.default_rng(2), 0.75)
    assert (m.reshape(4, -1).sum(1) == 60).all()
    assert not np.array_equal(m[0], m[1])


def test_spatial_spectral_two_stages() -> None:
    shape = (2, 3, 8, 20)
    m = spatial_spectral_mask(shape, np.random.default_rng(3), spatial_ratio=0.5, spectral_ratio=0.25)
    for b in range(2):
        full = m[b].all(axis=-1)  # (T, P): patches hidden in all bands
        assert (full.sum(axis=1) == 4).all()  # exactly half the patches per time step
        rest = m[b][~full]  # remaining (visible-patch) tokens: (n, C)
        assert (rest == rest[0]).all()  # same bands hidden in every remaining patch
        assert rest[0].sum() == 5  # exactly 25 % of the bands
    assert m.mean() == pytest.approx(0.5 + 0.5 * 0.25)


def test_index_guided_ratio_and_curriculum() -> None:
    assert curriculum(0, 0.75, 0.9, 100) == (0.75, 0.0)
    assert curriculum(50, 0.75, 0.9, 100) == pytest.approx((0.825, 0.5))
    assert curriculum(10_000, 0.75, 0.9, 100) == (0.9, 1.0)
    shape = (2, 1, 16, 10)
    sal = np.random.default_rng(4).random((2, 1, 16))
    for step, ratio in [(0, 0.75), (50, 0.825), (100, 0.9), (500, 0.9)]:
        m = index_guided_mask(shape, np.random.default_rng(step), step, sal, 0.75, 0.9, 100)
        assert (m.reshape(2, -1).sum(1) == round(ratio * 160)).all()
    # end of the curriculum: hidden in saliency order (most salient patches fully hidden first)
    m = index_guided_mask(shape, np.random.default_rng(7), 100, sal, 0.75, 0.9, 100)
    for b in range(2):
        order = np.argsort(-sal[b, 0])
        per_patch = m[b, 0].sum(-1)[order]
        assert (per_patch[:14] == 10).all() and (per_patch[14:] <= 10).all()
        assert per_patch[14] + per_patch[15] == 4  # the 2 least salient share the last 4 hidden tokens
        assert per_patch[15] == 0 or per_patch[14] == 10
    # start of the curriculum: random, so the least salient patch is not spared
    spared = [index_guided_mask(shape, np.random.default_rng(s), 0, sal, 0.75, 0.9, 100)[0, 0, np.argmin(sal[0, 0])].sum()
              for s in range(20)]
    assert max(spared) > 0


def test_patch_saliency_prefers_bloom_patches() -> None:
    idx = torch.zeros(1, 1, 2, 4, 4)
    idx[0, 0, :, :2, :2] = 1.0  # one patch with strong index values
    idx[0, 0, 0, 2:, 2:] = torch.tensor([[0.0, 0.5], [0.5, 0.0]])  # one heterogeneous patch
    s = patch_saliency(idx, patch=2, alpha=1.0)
    assert s.shape == (1, 1, 4)
    assert s[0, 0].argmax() == 0 and s[0, 0, 3] > s[0, 0, 1]


def test_build_mask_union_and_errors() -> None:
    shape = (1, 1, 4, 172)
    rng = np.random.default_rng(5)
    m = build_mask(["spectral-targeted", "random"], {"random": {"ratio": 0.5}}, WL, shape, rng, 0)
    assert m[..., TARGETED].all() and m.sum() >= 0.5 * m.size
    with pytest.raises(ConfigError, match="unknown masking strategy"):
        build_mask(["blocky"], {}, WL, shape, rng, 0)
    with pytest.raises(ConfigError, match="outside"):
        random_mask(shape, rng, 1.2)
