"""Band lists, the window rule, and the torch indices."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from spectm.errors import ConfigError
from spectm.pretrain.indices_torch import available_indices, compute_indices
from spectm.pretrain.wavelengths import (
    ARTEFACT_WINDOW_NM,
    PACE_OCI_WAVELENGTHS,
    SENTINEL2_WAVELENGTHS,
    SPECTM_WINDOWS_NM,
    in_windows,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "pretrain"


def test_pace_wavelengths_are_oci_bands_15_112_and_122_195() -> None:
    rows = list(csv.reader((DATA / "oci_bandpass.csv").open()))[2:]
    ref = [float(r[2]) for r in rows if 15 <= int(r[0]) <= 112 or 122 <= int(r[0]) <= 195]
    assert len(PACE_OCI_WAVELENGTHS) == 172
    np.testing.assert_allclose(PACE_OCI_WAVELENGTHS, ref, atol=5e-4)
    nominal = [int(r[1]) for r in rows if 15 <= int(r[0]) <= 112 or 122 <= int(r[0]) <= 195]
    assert np.array_equal(np.rint(PACE_OCI_WAVELENGTHS), nominal)  # the window rule uses these


def test_windows_select_the_domain_band_counts() -> None:
    wl = np.array(PACE_OCI_WAVELENGTHS)
    counts = [int(in_windows(wl, [w]).sum()) for w in SPECTM_WINDOWS_NM]
    assert counts == [11, 17, 18]
    assert int(in_windows(wl, [ARTEFACT_WINDOW_NM]).sum()) == 8
    assert int(in_windows(wl, [(400, 700)]).sum()) == 136


def test_indices_match_hand_computation() -> None:
    wl = np.array(PACE_OCI_WAVELENGTHS)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(0.002, 0.02, (2, 1, 172, 3, 3)).astype(np.float32))
    out = compute_indices(x, wl, ["ci", "ss665", "ndci"])
    assert out.shape == (2, 1, 3, 3, 3)
    i620, i665, i681, i708, i709 = 101, 129, 142, 164, 165  # docs/pace.md § Wavelengths
    r = x.double()
    lam = wl.astype(np.float64)
    ci = -(
        r[:, :, i681]
        - r[:, :, i665]
        - (r[:, :, i709] - r[:, :, i665]) * (lam[i681] - lam[i665]) / (lam[i709] - lam[i665])
    )
    ss = (
        r[:, :, i665]
        - r[:, :, i620]
        - (r[:, :, i681] - r[:, :, i620]) * (lam[i665] - lam[i620]) / (lam[i681] - lam[i620])
    )
    nd = (r[:, :, i708] - r[:, :, i665]) / (r[:, :, i708] + r[:, :, i665])
    for k, ref in enumerate([ci, ss, nd]):
        np.testing.assert_allclose(out[:, :, k].double().numpy(), ref.numpy(), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("sensor", ["pace", "s2"])
def test_torch_indices_agree_with_shared_numpy_indices(sensor: str) -> None:
    from spectm import indices as ref

    wl = np.array(PACE_OCI_WAVELENGTHS if sensor == "pace" else list(SENTINEL2_WAVELENGTHS.values()))
    names = available_indices(wl)
    x = np.random.default_rng(1).uniform(0.002, 0.03, (5, len(wl), 2, 2))
    got = compute_indices(torch.from_numpy(x), wl, names)  # (5, K, 2, 2)
    for k, name in enumerate(names):
        want = ref.compute(name, np.moveaxis(x, 1, -1), wl)
        np.testing.assert_allclose(got[:, k].numpy(), want, rtol=1e-6, atol=1e-12)


def test_sentinel2_supports_ndci_only_and_missing_index_is_an_error() -> None:
    s2 = list(SENTINEL2_WAVELENGTHS.values())
    assert available_indices(s2) == ["ndci"]
    with pytest.raises(ConfigError, match="lacks"):
        compute_indices(torch.ones(1, 1, len(s2), 2, 2), s2, ["ci"])
    with pytest.raises(ConfigError, match="unknown index"):
        available_indices(s2, ["mci"])


def test_index_agreement_fills_only_hidden_bands_and_skips_unaffected_indices() -> None:
    from spectm.pretrain.report import index_agreement, linear_fill, spline_fill

    wl = np.array(PACE_OCI_WAVELENGTHS)
    truth = np.random.default_rng(2).uniform(0.002, 0.02, (50, 172))
    hidden = in_windows(wl, [(615.0, 640.0)])  # 620 nm (SS665) hidden; CI and NDCI read no hidden band
    fills = {
        "model": truth[:, hidden],
        "spline": spline_fill(truth, wl, hidden),
        "linear": linear_fill(truth, wl, hidden),
    }
    res = index_agreement(truth, fills, wl, hidden, ["ci", "ss665", "ndci"])
    assert [d["index"] for d in res] == ["ss665"]
    assert res[0]["model_r"] == pytest.approx(1.0)  # a perfect reconstruction reproduces the index
    assert res[0]["spline_r"] < 0.99 and res[0]["linear_r"] < 0.99  # white noise: 620 nm cannot be guessed


def test_linear_fill_draws_straight_lines_and_holds_past_the_end() -> None:
    from spectm.pretrain.report import linear_fill

    wl = [600.0, 610.0, 620.0, 700.0, 710.0]
    spectra = np.array([[1.0, 0.0, 3.0, 5.0, 0.0]])
    hidden = np.array([False, True, False, False, True])
    np.testing.assert_allclose(linear_fill(spectra, wl, hidden), [[2.0, 5.0]])
