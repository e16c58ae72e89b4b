"""Match-up rules on a hand-built cube: aggregation, every unmatched reason, horizons, censoring."""

from __future__ import annotations

import numpy as np
import pytest

from spectm.join import join, load_unmatched
from spectm.join.matchup import REASONS

from .helpers import CubeSpec, base_rrs, spectrum, write_cube, write_samples


@pytest.fixture
def scene(data_dir):
    r = base_rrs(5)
    r[:, :, 2, 2] = np.nan  # land
    levels = np.arange(9, dtype=float).reshape(3, 3)
    r[2, :, 4:7, 4:7] = np.stack([spectrum(v) for v in levels.ravel()], axis=1).reshape(6, 3, 3)  # A's window
    r[0:3, :, 7:10, 7:10] = np.nan  # E, K: cloudy Aug 1-3
    r[2:5, :, 7, 2:5] = np.nan  # F: 4 of 9 valid on Aug 3-5
    r[2:5, :, 8, 2:4] = np.nan
    write_cube(data_dir, CubeSpec(days=[f"2024-08-0{d}" for d in range(1, 6)], rrs=r))
    write_samples(
        data_dir,
        [
            {"station": "A", "cell": (5, 5), "date": "2024-08-03", "sample_id": "A", "time_utc": "2024-08-03 15:00"},
            {"station": "B", "cell": (2, 2), "date": "2024-08-03", "sample_id": "B"},
            {"station": "C", "cell": (0, 6), "date": "2024-08-03", "sample_id": "C"},
            {"station": "D", "cell": (-3, 5), "date": "2024-08-03", "sample_id": "D"},
            {"station": "E", "cell": (8, 8), "date": "2024-08-02", "sample_id": "E"},
            {"station": "F", "cell": (8, 3), "date": "2024-08-04", "sample_id": "F"},
            {"station": "G", "cell": (5, 5), "date": "2024-08-03", "sample_id": "G", "pmc": np.nan},
            {"station": "H", "cell": (5, 5), "date": "2019-08-01", "sample_id": "H"},
            {"station": "I", "cell": (5, 8), "date": "2024-08-05", "sample_id": "I", "pmc": 0.1, "censored": True},
            {"station": "J", "cell": (9, 6), "date": "2024-08-12", "sample_id": "J"},
            {"station": "K", "cell": (8, 8), "date": "2024-08-03", "sample_id": "K"},
            {"station": "S", "cell": (5, 4), "date": "2024-08-03", "sample_id": "S", "depth": "scum", "time_utc": None},
        ],
    )
    return data_dir


def _reasons(data_dir, name):
    un = load_unmatched(data_dir, name)
    return {(r.sample_id, r.horizon): r.reason for r in un.itertuples()}


def test_every_reason_and_the_window_math(scene):
    res = join("m", data_dir=scene, unlabeled_per_date=0)
    reasons = _reasons(scene, "m")
    assert reasons[("B", "current")] == "land"
    assert reasons[("C", "current")] == "edge"
    assert reasons[("D", "current")] == "outside_grid"
    assert reasons[("E", "current")] == "cloud"
    assert reasons[("F", "current")] == "too_few_valid"
    assert reasons[("G", "current")] == "no_label"
    assert reasons[("H", "current")] == reasons[("H", "ahead")] == "outside_period"
    assert reasons[("A", "ahead")] == "no_overpass" and reasons[("J", "current")] == "no_overpass"
    assert set(reasons.values()) == set(REASONS)
    m = res.matchups.set_index(["sample_id", "horizon"])
    a = m.loc[("A", "current")]
    # per-band median of the 3x3 levels 0..8 = the spectrum at level 4; IQR = levels 2..6
    want = spectrum(4.0)
    got = np.array([a[f"rrs_{w}"] for w in ("443", "560", "620", "665", "681", "709")])
    assert got == pytest.approx(want, rel=1e-5)
    assert a["rrs_709_spread"] == pytest.approx(0.004 * 4, rel=1e-4)
    assert a["n_valid"] == 9 and a["valid_fraction"] == 1.0 and a["day_offset"] == 0
    assert a["dt_hours"] == pytest.approx(2 + 40 / 60) and a["dist_m"] == pytest.approx(0, abs=1e-3)
    ci_pix = [-(spectrum(v)[4] - spectrum(v)[3] - (spectrum(v)[5] - spectrum(v)[3]) * 16 / 44) for v in range(9)]
    assert a["ci"] == pytest.approx(np.median(ci_pix), rel=1e-5)
    assert {"ci", "ss665", "ci_cyano", "ndci", "chl_ndci"} <= set(res.matchups.columns)
    # every considered sample is accounted for in each horizon
    c = res.manifest["counts"]
    for hz in ("current", "ahead"):
        h = c["horizons"][hz]
        assert h["matched"] + sum(h["unmatched"].values()) == h["considered"] == 11
    assert c["samples"]["filtered"] == {"depth_scum": 1}


def test_horizons_and_censoring(scene):
    res = join("h", data_dir=scene, unlabeled_per_date=0)
    m = res.matchups.set_index(["sample_id", "horizon"])
    j = m.loc[("J", "ahead")]
    assert j["obs_date"] == "2024-08-04" and j["day_offset"] == -8 and j["dt_hours"] < -180
    k = m.loc[("K", "current")]
    assert k["obs_date"] == "2024-08-04" and k["day_offset"] == 1  # Aug 3 cloudy, next day used
    i = m.loc[("I", "current")]
    assert bool(i["pmc_ugL_censored"]) and i["pmc_ugL"] == 0.1 and i["pmc_ugL_lod"] == 0.1
    assert i["label_log10"] == pytest.approx(np.log10(0.1 / np.sqrt(2)))


def test_time_window_zero_and_scum_and_mean(scene):
    res = join("z", data_dir=scene, unlabeled_per_date=0, time_window_days=0, include_scum=True, aggregation="mean")
    reasons = _reasons(scene, "z")
    assert reasons[("K", "current")] == "cloud"  # only Aug 3 is allowed, and it is cloudy
    m = res.matchups.set_index(["sample_id", "horizon"])
    s = m.loc[("S", "current")]
    assert bool(s["time_assumed"])  # scum row without a time: local noon assumed
    assert s["dt_hours"] == pytest.approx(17 + 40 / 60 - 16)  # noon EDT = 16:00 UTC
    a = m.loc[("A", "current")]
    assert a["aggregation"] == "mean" and a["rrs_709"] == pytest.approx(spectrum(4.0)[5], rel=1e-5)
    assert a["rrs_709_spread"] == pytest.approx(0.004 * np.std(np.arange(9)), rel=1e-4)
