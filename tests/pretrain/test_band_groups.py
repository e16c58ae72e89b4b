"""Grouped-band tokens: the groups, and exactly what each strategy hides on the ablation's token grid.

The ablation's grid: 2 time steps × 4 spatial patches (8×8 chips, patch 4) × 45 groups of up to 4
adjacent PACE bands = 360 tokens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spectm.config import PretrainSection
from spectm.pretrain.band_groups import band_groups, expand_to_bands, group_label_wavelengths, group_mask
from spectm.pretrain.mae import MAEConfig, SpectralMAE
from spectm.pretrain.masking import build_mask
from spectm.pretrain.objective import mask_params, sample_masks
from spectm.pretrain.wavelengths import PACE_OCI_WAVELENGTHS

WL = list(PACE_OCI_WAVELENGTHS)
TARGETED = list(range(99, 110)) + list(range(125, 142)) + list(range(154, 172))  # 11 + 17 + 18 = 46
GROUPS = band_groups(WL, 4)
TARGETED_GROUPS = [25, 26, 27, 32, 33, 34, 35, 36, 40, 41, 42, 43, 44]
T, P, G = 2, 4, 45
N = T * P * G  # 360


def _members(g: int) -> list[int]:
    row = GROUPS[g]
    return row[row >= 0].tolist()


def test_pace_groups_of_four_never_straddle_a_window_edge() -> None:
    assert GROUPS.shape == (G, 4)
    sizes = (GROUPS >= 0).sum(1)
    assert sizes.sum() == 172 and sizes.min() == 3 and sizes.max() == 4
    flat = GROUPS[GROUPS >= 0]
    assert flat.tolist() == list(range(172))  # every band once, in order
    assert [g for g in range(G) if set(_members(g)) <= set(TARGETED)] == TARGETED_GROUPS
    assert all(set(_members(g)).isdisjoint(TARGETED) for g in range(G) if g not in TARGETED_GROUPS)
    assert [_members(g) for g in TARGETED_GROUPS[:3]] == [[99, 100, 101, 102], [103, 104, 105, 106], [107, 108, 109]]
    assert [_members(g) for g in TARGETED_GROUPS[-2:]] == [[166, 167, 168], [169, 170, 171]]
    assert band_groups(WL, 1).ravel().tolist() == list(range(172))  # k = 1: the per-band layout


def test_group_size_below_one_is_refused() -> None:
    from spectm.errors import ConfigError

    with pytest.raises(ConfigError, match="band_group 0"):
        band_groups(WL, 0)


def _mask(strategies: list[str], step: int = 0, saliency: np.ndarray | None = None, **cfg: object) -> np.ndarray:
    """The group-level mask (1,T,P,G) the trainer draws, with the pipeline's defaults for 200 steps."""
    section = PretrainSection.model_validate(
        {"masking": {"strategies": strategies, "random": {"ratio": "match_targeted"}}, **cfg}
    )
    params = mask_params(section, 200)  # SIGMAE's ramp: 100 steps (half the run)
    return build_mask(
        strategies, params, group_label_wavelengths(WL, GROUPS), (1, T, P, G), np.random.default_rng(7), step, saliency
    )


def test_spectral_targeted_hides_the_13_window_groups_which_are_exactly_the_46_bands() -> None:
    m = _mask(["spectral-targeted"])
    assert m.sum() == 13 * T * P == 104
    assert np.flatnonzero(m[0, 0, 0]).tolist() == TARGETED_GROUPS
    assert (m == m[:, :1, :1]).all()  # every time step and patch
    bands = expand_to_bands(m, GROUPS, 172)
    assert np.flatnonzero(bands[0, 1, 3]).tolist() == TARGETED
    assert bands.sum() == 46 * T * P


def test_random_match_targeted_hides_as_many_tokens_as_the_targeted_mask() -> None:
    for step in (0, 1):
        m = _mask(["random"], step=step)
        assert m.sum() == round(13 / 45 * N) == 104


def test_laprade_hides_two_of_four_patches_then_22_whole_groups() -> None:
    m = _mask(["spatial-spectral"])[0]
    full = m.all(axis=-1)  # (T, P): patches hidden in every group
    assert (full.sum(axis=1) == 2).all()  # 50 % of the patches, per time step
    rest = m[~full]  # the 4 remaining (time, patch) rows
    assert rest.shape == (4, G)
    assert (rest == rest[:1]).all() and rest[0].sum() == round(0.5 * G) == 22  # the same groups everywhere
    assert m.sum() == 2 * 2 * G + 4 * 22 == 268


@pytest.mark.parametrize(("step", "hidden"), [(0, 270), (50, 297), (100, 324), (199, 324)])
def test_sigmae_curriculum_counts_per_step(step: int, hidden: int) -> None:
    sal = np.arange(T * P, dtype=float).reshape(1, T, P)  # patch (1, 3) most salient
    m = _mask(["index-guided"], step=step, saliency=sal)
    assert m.sum() == hidden  # round(ratio·360): 0.75 → 0.825 at mid-ramp → 0.9 from step 100
    if step >= 100:  # salient-first: the top patches are hidden in every group
        assert m[0, 1, 3].all() and m[0, 1, 2].all()


def test_trainer_masks_expand_groups_to_bands_and_the_model_reads_them_back() -> None:
    cfg = PretrainSection.model_validate({"masking": {"strategies": ["spatial-spectral"]}})
    x = torch.rand(3, T, 172, 8, 8)
    band = sample_masks(cfg, ["spatial-spectral"], mask_params(cfg, 10), WL, x, torch.arange(3), 0, 4, 0, groups=GROUPS)
    assert band.shape == (3, T, P, 172)
    grouped = group_mask(band.numpy(), GROUPS)
    assert np.array_equal(expand_to_bands(grouped, GROUPS, 172), band.numpy())  # whole groups only
    assert grouped[0].sum() == 268
    model = SpectralMAE(MAEConfig(patch_size=4, dim=32, depth=1, decoder_dim=32, decoder_depth=1, band_group=4))
    flags = model._group_flags(band, torch.tensor(WL), every=True)
    assert np.array_equal(flags.numpy(), grouped)


def test_a_group_is_hidden_only_when_all_its_bands_are() -> None:
    band = np.zeros((1, 172), dtype=bool)
    band[0, [99, 100, 101]] = True  # three of group 25's four bands
    band[0, 103:107] = True  # all of group 26
    assert np.flatnonzero(group_mask(band, GROUPS)[0]).tolist() == [26]


def test_grouped_model_outputs_every_band_and_hides_nothing_it_shows() -> None:
    """Shapes stay per band, and a hidden group's values cannot reach its own reconstruction
    through the encoder: changing them leaves the output unchanged when the prior is off."""
    torch.manual_seed(0)
    model = SpectralMAE(MAEConfig(patch_size=4, dim=32, depth=1, decoder_dim=32, decoder_depth=1, band_group=4)).eval()
    wl = torch.tensor(WL)
    x = torch.randn(2, T, 172, 8, 8)
    days = torch.zeros(2, T)
    mask = torch.from_numpy(expand_to_bands(_mask(["spectral-targeted"]), GROUPS, 172)).expand(2, -1, -1, -1)
    out = model(x, wl, days, mask)
    assert out["recon"].shape == (2, T, 172, 8, 8) and out["future"].shape == (2, 172, 8, 8)
    x2 = x.clone()
    x2[:, :, TARGETED] += 5.0
    assert torch.allclose(model(x2, wl, days, mask)["recon"], out["recon"])
    enc = model.encode(x, wl, days)
    assert enc.shape == (2, T, P, 172, 32)
    assert torch.equal(enc[..., 99, :], enc[..., 102, :])  # one group, one feature vector


def test_grouped_pretraining_runs_end_to_end(tmp_path: Path) -> None:
    from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store
    from spectm.pretrain.train import Pretrainer

    store = write_chips_store(make_synthetic_chips(12, 2, 8, seed=1), tmp_path / "chips.zarr", chips_per_chunk=4)
    cfg = PretrainSection.model_validate(
        {
            "batch_size": 4,
            "max_steps": 2,
            "num_workers": 0,
            "cpu_threads": 1,
            "warmup_steps": 1,
            "model": {"patch_size": 4, "band_group": 4, "dim": 32, "depth": 1, "decoder_dim": 32, "decoder_depth": 1},
            "masking": {"strategies": ["index-guided"]},
        }
    )
    tr = Pretrainer(cfg, store, tmp_path / "run", device="cpu")
    assert tr.mask_groups is not None and len(tr.mask_groups) == G
    res = tr.fit()
    assert res.steps == 2 and np.isfinite(res.final_loss)
    assert (tmp_path / "run" / "model.safetensors").exists()


def test_a_checkpoint_written_before_band_group_existed_still_resumes(chips_store: Path, tiny_cfg) -> None:
    """Its model_config lacks band_group/group_windows; they take their defaults (per band) on resume."""
    import json

    from spectm.errors import ConfigError
    from spectm.pretrain.train import Pretrainer

    tr = Pretrainer(tiny_cfg(), chips_store, chips_store.parents[2] / "runs" / "old", device="cpu")
    st = tr.state()
    old = json.loads(st["model_config"])
    del old["band_group"], old["group_windows"]
    tr.load_state({**st, "model_config": json.dumps(old)})
    with pytest.raises(ConfigError, match="model config differs"):
        tr.load_state({**st, "model_config": json.dumps({**old, "band_group": 4})})
