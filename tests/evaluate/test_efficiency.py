"""The label-efficiency ratio (spectm's definition) on constructed curves with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spectm.evaluate.efficiency import efficiency_ratio, fraction_to_reach
from spectm.evaluate.tables import efficiency_table

F = np.array([0.05, 0.1, 0.25, 0.5, 1.0])


def test_crossing_is_interpolated_in_log_fraction() -> None:
    # R² 0.2 at 10 %, 0.3 at 25 %: 0.25 is half-way in log10(f) → f = √(0.1·0.25)
    c = fraction_to_reach(F, np.array([0.1, 0.2, 0.3, 0.4, 0.5]), 0.25)
    assert c.bound == "=" and c.fraction == pytest.approx(math.sqrt(0.025))


def test_crossing_bounds_and_first_crossing() -> None:
    assert fraction_to_reach(F, np.array([0.6, 0.2, 0.3, 0.4, 0.5]), 0.5).bound == "<="
    c = fraction_to_reach(F, np.array([0.1, 0.2, 0.3, 0.4, 0.45]), 0.5)
    assert (c.bound, c.fraction) == (">", 1.0)
    # non-monotone curve: the first crossing counts (0.25 reached exactly at 10 %)
    c = fraction_to_reach(F, np.array([0.1, 0.25, 0.2, 0.4, 0.5]), 0.25)
    assert (c.bound, c.fraction) == ("=", pytest.approx(0.1))
    # NaN points are skipped
    c = fraction_to_reach(F, np.array([0.1, np.nan, 0.3, 0.4, 0.5]), 0.2)
    assert c.fraction == pytest.approx(10 ** (np.log10(0.05) + 0.5 * (np.log10(0.25) - np.log10(0.05))))


def test_best_baseline_is_the_one_needing_fewest_labels() -> None:
    base = {
        "ridge": (F, np.array([0.1, 0.2, 0.3, 0.4, 0.5])),  # reaches 0.3 at 25 % → 5×
        "rf": (F, np.array([0.2, 0.3, 0.35, 0.4, 0.5])),
    }  # reaches 0.3 at 10 % → 2×
    assert efficiency_ratio(0.3, 0.05, base) == ("rf", pytest.approx(2.0), "=")
    with pytest.raises(ValueError):
        efficiency_ratio(0.3, 0.05, {"ridge": (F, np.full(5, np.nan))})


def test_efficiency_table_on_a_constructed_curve() -> None:
    rows = []
    curves = {
        "spectm-frozen": [0.25, 0.4, 0.5, 0.6, 0.7],
        "ridge": [0.1, 0.2, 0.3, 0.4, 0.5],
        "svr": [0.05, 0.1, 0.15, 0.2, 0.25],
    }
    for model, r2s in curves.items():
        for f, r in zip(F, r2s, strict=True):
            rows.append({"model": model, "horizon": "current", "label_fraction": f, "r2_mean": r, "n_train": 400 * f})
    t = efficiency_table(pd.DataFrame(rows))
    assert len(t) == 1
    r = t.iloc[0]
    assert r["model"] == "spectm-frozen" and r["best_baseline"] == "ridge" and r["bound"] == "="
    assert r["ratio"] == pytest.approx(math.sqrt(0.025) / 0.05)  # 3.162×
    assert r["baseline_fraction"] == pytest.approx(math.sqrt(0.025))
    assert r["r2_ratio"] == pytest.approx(2.5)


def test_no_ratio_without_a_curve() -> None:
    rows = pd.DataFrame(
        {"model": ["spectm-frozen", "ridge"], "horizon": "current", "label_fraction": 1.0, "r2_mean": [0.5, 0.4]}
    )
    assert efficiency_table(rows).empty


def test_a_baseline_without_the_smallest_fraction_is_not_compared() -> None:
    rows = [
        {"model": "spectm-frozen", "horizon": "current", "label_fraction": f, "r2_mean": r}
        for f, r in ((0.05, 0.3), (1.0, 0.6))
    ]
    rows += [{"model": "svr", "horizon": "current", "label_fraction": 1.0, "r2_mean": 0.9}]  # main point only
    rows += [
        {"model": "ridge", "horizon": "current", "label_fraction": f, "r2_mean": r}
        for f, r in ((0.05, 0.1), (1.0, 0.5))
    ]
    t = efficiency_table(pd.DataFrame(rows).assign(n_train=lambda d: 500 * d["label_fraction"]))
    assert t["best_baseline"].tolist() == ["ridge"]
    assert t["ratio"].iloc[0] == pytest.approx(10 ** (0.5 * np.log10(20)))  # half-way in log f: √20


def _curve(spectm: tuple[float, float], ridge: tuple[float, float], n0: float) -> pd.DataFrame:
    rows = [
        {"model": m, "horizon": "ahead", "label_fraction": f, "r2_mean": r, "n_train": n0 if f == 0.05 else 20 * n0}
        for m, pts in (("spectm-frozen", spectm), ("ridge", ridge))
        for f, r in zip((0.05, 1.0), pts, strict=True)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("spectm", "ridge", "n0", "why"),
    [
        ((-0.3, 0.2), (-0.5, 0.1), 40, "R² -0.300 ≤ 0"),  # a ratio of two negative R² says nothing
        ((0.3, 0.5), (0.1, 0.4), 8, "8 training labels"),  # too few labels at the smallest fraction
        ((0.3, 0.5), (-0.1, 0.4), 40, "no baseline has R² > 0"),  # the only baseline starts below zero
    ],
)
def test_ratio_is_missing_with_a_reason(spectm, ridge, n0, why) -> None:
    t = efficiency_table(_curve(spectm, ridge, n0))
    assert len(t) == 1 and np.isnan(t["ratio"].iloc[0]) and why in t["missing"].iloc[0]


def test_ratio_shown_when_both_curves_are_positive_with_enough_labels() -> None:
    t = efficiency_table(_curve((0.3, 0.5), (0.1, 0.4), 40))
    assert t["missing"].iloc[0] == "" and t["ratio"].iloc[0] > 1


def test_the_report_says_why_a_ratio_is_missing() -> None:
    from spectm.evaluate.report import md_efficiency

    md = md_efficiency(efficiency_table(_curve((-0.3, 0.2), (-0.5, 0.1), 40)))
    row = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
    assert row[7] == "missing: spectm-frozen R² -0.300 ≤ 0 at 5 %" and row[8] == "—"  # under "efficiency ratio"
