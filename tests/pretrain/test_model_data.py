"""The chips reader, the model's shapes across sensors, overfitting, and safetensors export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spectm.errors import DataNotFoundError, SchemaError
from spectm.pretrain.checkpoint import export_safetensors, load_safetensors
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.mae import MAEConfig, SpectralMAE
from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store
from spectm.pretrain.train import Pretrainer
from spectm.pretrain.wavelengths import SENTINEL2_WAVELENGTHS


def test_zarr_reader_in_memory_and_lazy_agree(chips_store: Path) -> None:
    eager = ChipDataset.from_zarr(chips_store, "train")
    lazy = ChipDataset.from_zarr(chips_store, "train", max_in_memory_bytes=0)
    assert len(eager) == len(lazy) == 12 and eager.shape == lazy.shape == (12, 1, 172, 4, 4)
    for i in (0, 5, 11):
        a, b = eager[i], lazy[i]
        for k in ("x", "future", "days"):
            assert torch.equal(torch.nan_to_num(a[k], 7.0), torch.nan_to_num(b[k], 7.0))
        assert int(a["index"]) == i and bool(a["has_future"])
    val = ChipDataset.from_zarr(chips_store, "val")
    assert [int(val[i]["index"]) for i in range(len(val))] == [12, 13]  # store rows seed the masks


def test_future_chip_index_variant(tmp_path: Path) -> None:
    ds = make_synthetic_chips(6, 2, 4, seed=1, split_fractions=(1.0, 0.0, 0.0)).drop_vars("future")
    ds["future_chip"] = ("chip", np.array([1, 2, 3, 4, 5, -1]))
    store = write_chips_store(ds, tmp_path / "c.zarr")
    for budget in (2 << 30, 0):
        d = ChipDataset.from_zarr(store, "train", max_in_memory_bytes=budget)
        assert torch.equal(torch.nan_to_num(d[0]["future"]), torch.nan_to_num(d[1]["x"][-1]))
        assert not bool(d[5]["has_future"]) and bool(d[4]["has_future"])
        np.testing.assert_allclose(d[0]["days"].numpy(), [-8.0, 0.0])


def test_reader_errors(tmp_path: Path, chips_store: Path) -> None:
    with pytest.raises(DataNotFoundError, match="spectm join"):
        ChipDataset.from_zarr(tmp_path / "nope.zarr")
    with pytest.raises(SchemaError, match="unknown split"):
        ChipDataset.from_zarr(chips_store, "holdout")
    bad = make_synthetic_chips(4, 1, 4).drop_vars("wavelength")
    with pytest.raises(SchemaError, match="lacks"):
        ChipDataset.from_zarr(write_chips_store(bad, tmp_path / "bad.zarr"))
    with pytest.raises(SchemaError, match="wavelengths"):
        ChipDataset.from_arrays(np.zeros((2, 1, 5, 4, 4)), [400.0, 500.0])


def test_one_encoder_for_pace_and_sentinel2() -> None:
    model = SpectralMAE(
        MAEConfig(patch_size=2, dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1, decoder_heads=2, n_indices=1)
    )
    for wl in (make_synthetic_chips(1, 1, 4)["wavelength"].values, np.array(list(SENTINEL2_WAVELENGTHS.values()))):
        c = len(wl)
        x = torch.randn(2, 2, c, 4, 4)
        mask = torch.zeros(2, 2, 4, c, dtype=torch.bool)
        mask[:, :, :, : c // 2] = True
        out = model(x, torch.tensor(wl, dtype=torch.float32), torch.tensor([[-8.0, 0.0]] * 2), mask)
        assert out["recon"].shape == (2, 2, c, 4, 4)
        assert out["future"].shape == (2, c, 4, 4)
        assert out["indices"].shape == (2, 2, 1, 4, 4)
        assert torch.isfinite(out["recon"]).all()


def _hidden_band_pair(**cfg: object) -> tuple:
    """A small model, a chip with bands 3-5 hidden, and the same chip with those bands changed."""
    torch.manual_seed(0)
    model = SpectralMAE(
        MAEConfig(
            patch_size=2, dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1, decoder_heads=2, n_indices=1, **cfg
        )
    ).eval()
    wl = torch.linspace(400, 700, 12)
    x = torch.randn(1, 1, 12, 4, 4)
    mask = torch.zeros(1, 1, 4, 12, dtype=torch.bool)
    mask[..., 3:6] = True
    x2 = x.clone()
    x2[:, :, 3:6] += 5.0
    return model, wl, x, x2, mask


def test_hidden_tokens_do_not_leak_into_the_encoder() -> None:
    """Changing a hidden token's values must not change any output."""
    model, wl, x, x2, mask = _hidden_band_pair()
    with torch.no_grad():
        a = model(x, wl, torch.zeros(1, 1), mask)["recon"]
        b = model(x2, wl, torch.zeros(1, 1), mask)["recon"]
    assert torch.allclose(a, b, atol=1e-6)


def test_tiny_model_overfits_a_tiny_batch(tmp_path: Path, tiny_cfg) -> None:
    ds = make_synthetic_chips(4, 1, 2, seed=2, nan_fraction=0.0)
    data = ChipDataset.from_arrays(ds["chips"].values, ds["wavelength"].values, future=ds["future"].values)
    cfg = tiny_cfg(
        max_steps=100,
        lr=3e-3,
        warmup_steps=5,
        log_every=10,
        checkpoint_every=1000,
        min_lr_ratio=0.2,
        masking={"strategies": ["spectral-targeted"], "spectral_targeted": {"extra_random_ratio": 0.0}},
    )
    tr = Pretrainer(cfg, data, tmp_path / "run", device="cpu")
    with torch.no_grad():
        first = float(tr._forward(next(iter(tr.loader)), 0, tr.model)["loss"])
    res = tr.fit()
    assert res.final_loss < first / 10, (first, res.final_loss)


def test_safetensors_round_trip(tmp_path: Path) -> None:
    model = SpectralMAE(MAEConfig(dim=16, depth=1, heads=2, decoder_dim=16, decoder_depth=1, decoder_heads=2))
    export_safetensors(tmp_path / "m.safetensors", model.state_dict(), {"band_mean": torch.ones(3)}, {"step": 5})
    state, stats, meta = load_safetensors(tmp_path / "m.safetensors")
    assert meta == {"step": 5} and torch.equal(stats["band_mean"], torch.ones(3))
    model.load_state_dict(state)


def test_interpolation_prior_is_linear_across_gaps_and_flat_past_the_ends() -> None:
    from spectm.pretrain.mae import interpolate_hidden

    wl = torch.tensor([400.0, 410.0, 420.0, 440.0, 450.0, 460.0])
    x = torch.tensor([[1.0, 9.0, 3.0, 9.0, 9.0, 9.0]])[..., None].repeat(1, 1, 2)  # (R=1, C=6, k=2)
    vis = torch.tensor([[True, False, True, False, True, False]])
    out = interpolate_hidden(x, wl, vis)[0, :, 0].tolist()
    # visible kept; 410 halfway 1→3; 440 two thirds of 420→450 (3→9); 460 past the end: held at 9
    assert out == pytest.approx([1.0, 2.0, 3.0, 7.0, 9.0, 9.0])
    none = interpolate_hidden(x, wl, torch.zeros(1, 6, dtype=torch.bool))
    assert torch.equal(none, torch.zeros_like(none))  # no visible band: the band mean (0)


def test_interpolation_prior_does_not_leak_hidden_tokens() -> None:
    model, wl, x, x2, mask = _hidden_band_pair(interp_prior=True)
    with torch.no_grad():
        a = model(x, wl, torch.zeros(1, 1), mask)["recon"]
        b = model(x2, wl, torch.zeros(1, 1), mask)["recon"]
        off = SpectralMAE(MAEConfig(**{**model.cfg.__dict__, "interp_prior": False}))
        off.load_state_dict(model.state_dict())  # same weights: the option adds no parameters
        c = off.eval()(x, wl, torch.zeros(1, 1), mask)["recon"]
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, c)  # the prior is really added
