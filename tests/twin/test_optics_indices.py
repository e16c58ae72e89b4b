"""Forward model against the indicative outputs of docs/bio-optics.md, and the shared indices."""

from __future__ import annotations

import numpy as np
import pytest

from spectm import indices
from spectm.errors import BadInputError
from spectm.twin import optics

WL = np.array([560.0, 620.0, 665.0, 681.0, 709.0])
# (Chl, PC, a_g400, TSS) -> Rrs560, Rrs620, Rrs665, Rrs709, CI, SS665, NDCI (docs/bio-optics.md § Forward model)
INDICATIVE = [
    ((3, 0.3, 0.3, 3), (0.0143, 0.0053, 0.0033, 0.0018, -0.0002, -0.0003, -0.28)),
    ((16, 4, 0.9, 10), (0.0198, 0.0126, 0.0086, 0.0061, -0.0002, -0.0005, -0.17)),
    ((60, 30, 1.5, 20), (0.0190, 0.0135, 0.0112, 0.0119, 0.0009, -0.0001, 0.03)),
    ((200, 150, 2, 30), (0.0144, 0.0088, 0.0096, 0.0161, 0.0026, 0.0004, 0.25)),
]


@pytest.mark.parametrize(("inputs", "expected"), INDICATIVE)
def test_forward_model_matches_indicative_table(inputs: tuple, expected: tuple) -> None:
    r = optics.rrs_spectrum(WL, *[np.array([v], float) for v in inputs])
    rrs = r[0, [0, 1, 2, 4]]
    np.testing.assert_allclose(rrs, expected[:4], rtol=0.25)
    ci = float(indices.ci(r, WL)[0])
    ss = float(indices.ss665(r, WL)[0])
    nd = float(indices.ndci(r, WL)[0])
    assert np.sign(ci) == np.sign(expected[4])
    assert abs(ci - expected[4]) <= 0.3 * abs(expected[4]) + 1e-4
    assert np.sign(ss) == np.sign(expected[5])
    assert abs(nd - expected[6]) < 0.03


def test_tables_load_sorted_and_band_counts() -> None:
    lam, a, _b = optics.bricaud()
    assert np.all(np.diff(lam) > 0) and lam[0] == 400 and lam[-1] == 700
    assert a[np.searchsorted(lam, 442)] == pytest.approx(0.0398)
    wl, aw, _bw = optics.pure_water()
    assert np.interp(665, wl, aw) == pytest.approx(0.429, rel=0.01)
    bands = optics.oci_rrs_bands()
    assert len(bands) == 172 and bands["nominal"].iloc[0] == 346 and bands["nominal"].iloc[-1] == 719
    assert optics.oci_bandset().weights.shape[1] == 172


def test_indices_rise_with_chl_and_pc() -> None:
    chl = np.array([5.0, 20.0, 80.0, 300.0])
    pc = chl * 0.6
    r = optics.band_rrs(optics.oci_bandset(), chl, pc, np.full(4, 1.0), np.full(4, 10.0))
    wl = optics.oci_rrs_bands()["center"].to_numpy()
    assert np.all(np.diff(indices.ndci(r, wl)) > 0)
    assert np.all(np.diff(indices.ci(r, wl)) > 0)
    # PC deepens the 620 nm trough: SS665 rises with PC at fixed Chl
    r2 = optics.band_rrs(optics.oci_bandset(), np.full(3, 100.0), np.array([5.0, 100.0, 300.0]), 1.0, 10.0)
    assert np.all(np.diff(indices.ss665(r2, wl)) > 0)
    s2 = optics.band_rrs(optics.s2_bandset(), chl, pc, np.full(4, 1.0), np.full(4, 10.0))
    s2wl = optics.s2_bandset().centers
    assert np.all(np.diff(indices.ndci(s2, s2wl)) > 0)


def test_impossible_indices_raise() -> None:
    pace_wl = optics.oci_rrs_bands()["center"].to_numpy()
    s2_wl = optics.s2_bandset().centers
    r = np.ones((2, pace_wl.size))
    with pytest.raises(indices.IndexUnavailableError, match="753"):
        indices.mci(r, pace_wl)
    with pytest.raises(indices.IndexUnavailableError, match="681"):
        indices.ci(np.ones((2, s2_wl.size)), s2_wl)
    with pytest.raises(indices.IndexUnavailableError):
        indices.dekker_pc(r, pace_wl)
    assert indices.mci(np.ones((1, s2_wl.size)), s2_wl).shape == (1,)
    with pytest.raises(BadInputError, match="unknown index"):
        indices.compute("nope", r, pace_wl)


def test_baseline_formula_by_hand() -> None:
    wl = np.array([665.0, 681.0, 709.0])
    r = np.array([[0.010, 0.012, 0.011]])
    expected = -(0.012 - 0.010 - (0.011 - 0.010) * 16 / 44)
    assert indices.ci(r, wl)[0] == pytest.approx(expected)
