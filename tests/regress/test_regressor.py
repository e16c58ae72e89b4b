"""The regressor artefact: save → load → same predictions; per-pixel maps; the censored loss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spectm.config import RegressSection
from spectm.errors import DataNotFoundError, SchemaError
from spectm.regress import fit_predict, load_regressor
from spectm.regress.data import load_chip_rows, load_table
from spectm.regress.head import censored_loss

from .helpers import WAVELENGTHS

FAST = RegressSection(frozen_steps=100, finetune_epochs=2, weight_decay_grid=[0.01])


@pytest.fixture(scope="module")
def finetuned(store_dir: Path, encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("reg") / "spectm-finetune_ahead"
    pred = fit_predict(
        store_dir,
        "default",
        model="spectm-finetune",
        horizon="ahead",
        seed=0,
        encoder=encoder,
        params=FAST,
        out_dir=out,
    )
    return out, pred


def test_regressor_round_trip_gives_the_same_predictions(store_dir: Path, finetuned) -> None:
    out, pred = finetuned
    assert sorted(p.name for p in out.iterdir()) == ["regressor.json", "regressor.safetensors"]
    reg = load_regressor(out)
    assert reg.sensor == "pace" and reg.horizon == "ahead" and reg.lead_days == 8
    assert reg.chip_size == 8 and reg.chip_time == 1
    np.testing.assert_allclose(reg.wavelengths, WAVELENGTHS)
    meta = json.loads((out / "regressor.json").read_text())
    assert meta["model"] == "spectm-finetune" and meta["encoder_run"] == "enc" and "epochs" in meta["chosen"]
    table = load_table(store_dir, "default")
    test = table[(table["horizon"] == "ahead") & (table["split"] == "test")].sort_values("sample_id")
    chips, days, _, _ = load_chip_rows(store_dir, "default", test["chip_index"].to_numpy())
    maps = reg.predict_chips(chips, days)
    assert maps.shape == (len(test), 8, 8) and maps.dtype == np.float32
    valid = np.isfinite(chips[:, -1]).all(axis=1)
    assert (np.isfinite(maps) == valid).all()  # NaN exactly where the last step's pixel is invalid
    window = np.zeros_like(valid)
    window[:, 3:6, 3:6] = True  # the 3×3 match-up window around the sample at (4, 4)
    w = window & valid
    chip_pred = np.nansum(np.where(w, maps, 0), axis=(1, 2)) / w.sum(axis=(1, 2))
    got = pred[pred["split"] == "test"].set_index("sample_id").loc[test["sample_id"], "y_pred"].to_numpy()
    np.testing.assert_allclose(chip_pred, got, rtol=0, atol=1e-5)
    assert np.nanstd(maps, axis=(1, 2)).max() > 0  # a map, not one value per chip


def test_predict_chips_handles_invalid_chips_and_rejects_other_sensors(store_dir: Path, finetuned) -> None:
    reg = load_regressor(finetuned[0] / "regressor.json")
    chips, days, _, _ = load_chip_rows(store_dir, "default", np.array([0, 1]))
    chips[0] = np.nan  # a fully clouded chip
    chips[1, -1, :, 0, 0] = np.nan
    maps = reg.predict_chips(chips, days)
    assert np.isnan(maps[0]).all() and np.isnan(maps[1, 0, 0])
    assert (np.isfinite(maps[1]) == np.isfinite(chips[1, -1]).all(axis=0)).all()
    with pytest.raises(SchemaError, match="bands"):
        reg.predict_chips(chips[:, :, :10], days)
    with pytest.raises(SchemaError, match="patch size"):
        reg.predict_chips(chips[..., :6, :6], days)
    with pytest.raises(DataNotFoundError, match="no regressor"):
        load_regressor(store_dir)


def test_regressor_weights_are_plain_tensors(finetuned) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(finetuned[0] / "regressor.safetensors"))
    assert any(k.startswith("mae.") for k in tensors) and any(k.startswith("head.") for k in tensors)
    assert {"stats.band_mean", "stats.band_std"} <= set(tensors)


def test_censored_loss_substitute_and_one_sided() -> None:
    pred = torch.tensor([0.0, 1.0, -2.0, 0.5])
    y = torch.tensor([0.5, 1.0, -1.15, -1.15])  # rows 2, 3 censored, stored at LOD/√2 (log10: lod − 0.15)
    cens = torch.tensor([False, False, True, True])
    lod = torch.tensor([0.0, 0.0, -1.0, -1.0])
    sub = censored_loss(pred, y, cens, lod, "substitute")
    assert float(sub) == pytest.approx((0.25 + 0 + 0.85**2 + 1.65**2) / 4)
    one = censored_loss(pred, y, cens, lod, "one-sided")
    # row 2 predicts below the LOD: no cost; row 3 is 1.5 above it: cost 1.5²
    assert float(one) == pytest.approx((0.25 + 0 + 0 + 1.5**2) / 4)


def test_encode_sees_every_valid_token_and_ignores_invalid_ones() -> None:
    from spectm.pretrain.mae import MAEConfig, SpectralMAE

    torch.manual_seed(0)
    model = SpectralMAE(
        MAEConfig(
            patch_size=2, dim=16, depth=1, heads=2, decoder_dim=16, decoder_depth=1, decoder_heads=2, wavelength_freqs=4
        )
    ).eval()
    x = torch.randn(2, 1, 5, 4, 4)
    wl = torch.linspace(400, 700, 5)
    days = torch.zeros(2, 1)
    valid = torch.ones(2, 1, 4, 5, dtype=torch.bool)
    valid[0, 0, 1, 2] = False  # one (patch, band) token without a valid pixel
    with torch.no_grad():
        a = model.encode(x, wl, days, valid)
        x2 = x.clone()
        x2[0, 0, 2, :2, 2:] = 99.0  # the pixels of that token (patch 1 = rows 0–1, cols 2–3; band 2)
        b = model.encode(x2, wl, days, valid)
    assert a.shape == (2, 1, 4, 5, 16)
    assert torch.equal(a[0, 0, 1, 2], torch.zeros(16))  # invalid token: zeros
    torch.testing.assert_close(a, b)  # its values never reach the other tokens
    assert a[1].abs().sum() > 0 and not torch.equal(a[0, 0, 0, 0], a[0, 0, 0, 1])


@pytest.mark.parametrize("fill", ["visible", "reconstructed"])
def test_encoder_features_never_read_the_bands_it_never_saw(fill: str) -> None:
    """An encoder pretrained with the targeted mask never saw those bands: downstream, its features
    must not depend on their values (visible: left out; reconstructed: refilled from the others),
    while the pixel's own index features still read the measured spectrum."""
    from spectm.pretrain.mae import MAEConfig, SpectralMAE
    from spectm.pretrain.objective import Stats
    from spectm.regress.head import pixel_features

    torch.manual_seed(0)
    model = SpectralMAE(
        MAEConfig(
            patch_size=2,
            dim=16,
            depth=1,
            heads=2,
            decoder_dim=16,
            decoder_depth=1,
            decoder_heads=2,
            wavelength_freqs=4,
            interp_prior=True,
        )
    ).eval()
    wl = torch.tensor([443.0, 560.0, 620.0, 665.0, 681.0, 709.0])
    unseen = torch.tensor([False, False, True, False, False, True])  # 620 and 709 nm: "targeted"
    stats = Stats(torch.full((6,), 0.01), torch.full((6,), 0.005), torch.zeros(1), torch.ones(1))
    x = 0.01 + 0.002 * torch.rand(2, 1, 6, 4, 4)
    x2 = x.clone()
    x2[:, :, unseen] *= 3.0
    days = torch.zeros(2, 1)
    with torch.no_grad():
        a = pixel_features(model, stats, wl, ["ndci"], x, days, unseen, fill)
        b = pixel_features(model, stats, wl, ["ndci"], x2, days, unseen, fill)
        old = pixel_features(model, stats, wl, ["ndci"], x, days)
        old2 = pixel_features(model, stats, wl, ["ndci"], x2, days)
    torch.testing.assert_close(a[..., :16], b[..., :16])  # encoder part: blind to the unseen bands
    assert not torch.allclose(a[..., 16:], b[..., 16:])  # NDCI reads 709 nm: the measured value
    assert not torch.allclose(old[..., :16], old2[..., :16])  # encoding every band (the old path) is not blind
    assert not torch.allclose(a[..., :16], old[..., :16])
