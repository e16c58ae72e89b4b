"""Each masking strategy hides exactly what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spectm.errors import ConfigError
from spectm.pretrain.masking import (
    build_mask,
    check_spatial_patches,
    curriculum,
    index_guided_mask,
    patch_saliency,
    random_mask,
    spatial_spectral_mask,
    spectral_targeted_mask,
    targeted_fraction,
)
from spectm.pretrain.wavelengths import PACE_OCI_WAVELENGTHS, SENTINEL2_WAVELENGTHS

WL = list(PACE_OCI_WAVELENGTHS)
S2_WL = SENTINEL2_WAVELENGTHS.values()
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
    spared = [
        index_guided_mask(shape, np.random.default_rng(s), 0, sal, 0.75, 0.9, 100)[0, 0, np.argmin(sal[0, 0])].sum()
        for s in range(20)
    ]
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


# --------------------------------------------------------------------------- the masks the config defaults give
# Exact masks per strategy and per curriculum step, as the trainer builds them from a config
# (``mask_params`` → ``build_mask``). Token grid of the demo: 2 time steps × 4 patches × 172 bands.

DEMO_SHAPE = (1, 2, 4, 172)
N_DEMO = 2 * 4 * 172  # 1,376 tokens


def _cfg_masks(masking: dict, steps: list[int], total_steps: int = 400, chip_id: int = 7) -> dict[int, np.ndarray]:
    from spectm.config import PretrainSection
    from spectm.pretrain.objective import mask_params

    cfg = PretrainSection.model_validate({"masking": masking})
    params = mask_params(cfg, total_steps)
    sal = np.random.default_rng(0).random(DEMO_SHAPE[:3])
    out = {}
    for s in steps:
        rng = np.random.default_rng([0, s, chip_id])
        out[s] = build_mask(cfg.masking.strategies, params, WL, DEMO_SHAPE, rng, s, sal)
    return out


def test_default_spectral_targeted_is_the_papers_deterministic_mask() -> None:
    """SpecTM's default hides exactly the 46 window bands, in every patch and time step, and nothing
    else, at every step (no random extra); 46 × 8 = 368 of 1,376 tokens."""
    masks = _cfg_masks({}, [0, 1, 250, 399])
    for m in masks.values():
        assert m.sum() == 46 * 2 * 4 == 368
        assert (np.flatnonzero(m.any(axis=(0, 1, 2))) == TARGETED).all()
        assert m[..., TARGETED].all()
    assert all(np.array_equal(masks[0], m) for m in masks.values())


def test_targeted_extra_random_is_a_named_option() -> None:
    m = _cfg_masks({"spectral_targeted": {"extra_random_ratio": 0.5}}, [0])[0]
    assert m[..., TARGETED].all() and m.sum() == 368 + round(0.5 * (172 - 46) * 8)  # 368 + 504 = 872


def test_random_match_targeted_hides_the_targeted_share() -> None:
    """The ablation's random cell: same number of tokens as the targeted mask (round(46/172 · N))."""
    assert targeted_fraction(WL) == pytest.approx(46 / 172)
    masks = _cfg_masks({"strategies": ["random"], "random": {"ratio": "match_targeted"}}, [0, 1, 2])
    for m in masks.values():
        assert m.sum() == round(46 / 172 * N_DEMO) == 368
    assert not np.array_equal(masks[0], masks[1])  # random: a new draw every step
    assert not masks[0][..., TARGETED].all()  # not the targeted bands: anywhere
    # Sentinel-2: B4 (665 nm) and B5 (704 nm) lie in the windows, 2 of 10 bands
    assert targeted_fraction(list(S2_WL)) == pytest.approx(0.2)


def test_spatial_spectral_default_counts_per_stage() -> None:
    """Laprade (two stages, our ratios 0.5 + 0.5): 2 of 4 patches per time step in every band, then
    86 of 172 bands in the other patches; 2·(2·172 + 2·86) = 1,032 of 1,376 tokens, at every step."""
    masks = _cfg_masks({"strategies": ["spatial-spectral"]}, [0, 399])
    for m in masks.values():
        full = m[0].all(axis=-1)  # (T, P)
        assert (full.sum(axis=1) == 2).all()
        rest = m[0][~full]
        assert (rest == rest[0]).all() and rest[0].sum() == 86
        assert m.sum() == 1032


@pytest.mark.parametrize(
    ("step", "hidden"),
    [
        (0, round(0.75 * N_DEMO)),
        (100, round(0.825 * N_DEMO)),
        (200, round(0.9 * N_DEMO)),
        (399, round(0.9 * N_DEMO)),
    ],
)
def test_index_guided_curriculum_counts_per_step(step: int, hidden: int) -> None:
    """SIGMAE adaptation, default ramp over half the run (400 steps → 200): 1,032 tokens at step 0,
    1,135 at step 100, 1,238 from step 200 on; from then on, salient patches go first."""
    m = _cfg_masks({"strategies": ["index-guided"]}, [step])[step]
    assert m.sum() == hidden
    if step >= 200:
        sal = np.random.default_rng(0).random(DEMO_SHAPE[:3])[0].reshape(-1)
        per_patch = m[0].reshape(8, 172).sum(-1)[np.argsort(-sal)]
        assert (per_patch[:7] == 172).all() and per_patch[7] == 1238 - 7 * 172  # the least salient is last


def test_curriculum_length_defaults_to_half_the_run() -> None:
    from spectm.config import PretrainSection
    from spectm.pretrain.objective import curriculum_length

    assert curriculum_length(PretrainSection(), 400) == 200
    cfg = PretrainSection.model_validate({"masking": {"index_guided": {"curriculum_steps": 50}}})
    assert curriculum_length(cfg, 400) == 50


def test_one_spatial_patch_with_a_spatial_stage_is_a_config_error() -> None:
    check_spatial_patches(["spectral-targeted"], 1, 8, 8)  # no spatial stage: fine
    check_spatial_patches(["spatial-spectral"], 4, 8, 4)
    for strategy in ("spatial-spectral", "index-guided"):
        with pytest.raises(ConfigError, match="1 patch") as exc:
            check_spatial_patches(["random", strategy], 1, 8, 8)
        assert "chip_size 16" in str(exc.value)
