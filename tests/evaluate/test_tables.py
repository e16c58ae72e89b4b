"""Metrics per group against hand-computed values; the ablation gain; the bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spectm.errors import SchemaError
from spectm.evaluate.metrics import bootstrap_r2_ci, per_seed
from spectm.evaluate.schema import validate_predictions
from spectm.evaluate.tables import (
    ReportSettings,
    ablation_table,
    label_efficiency_table,
    main_table,
    masking_gain,
)
from spectm.regress.metrics import r2
from tests.evaluate.conftest import hand_table, pred_rows

NOBOOT = ReportSettings(n_boot=0)


def test_per_seed_metrics_are_the_hand_computed_ones() -> None:
    s = per_seed(validate_predictions(hand_table())).set_index(["model", "seed"])
    assert s.loc[("ridge", 0), "r2"] == pytest.approx(1.0)
    assert s.loc[("ridge", 1), ["r2", "rmse", "mae"]].tolist() == pytest.approx([0.8, 0.5, 0.25])
    assert s.loc[("svr", 0), ["r2", "rmse", "mae"]].tolist() == pytest.approx([0.0, math.sqrt(1.25), 1.0])
    assert s.loc[("svr", 1), ["r2", "rmse", "mae"]].tolist() == pytest.approx([0.8, 0.5, 0.5])
    assert s.loc[("ridge", 1), "n_censored"] == 1
    assert (s["n"] == 4).all()  # the val rows are not counted


def test_main_table_mean_sd_over_seeds() -> None:
    t = main_table(validate_predictions(hand_table()), NOBOOT).set_index("model")
    assert list(t.index) == ["ridge", "svr"]  # the paper's model order
    assert t.loc["ridge", "r2_mean"] == pytest.approx(0.9)
    assert t.loc["ridge", "r2_sd"] == pytest.approx(math.sqrt(0.02))  # sd of (1, 0.8), ddof 1
    assert t.loc["svr", "r2_mean"] == pytest.approx(0.4)
    assert t.loc["svr", "rmse_mean"] == pytest.approx((math.sqrt(1.25) + 0.5) / 2)
    assert t.loc["svr", "mae_mean"] == pytest.approx(0.75)
    assert t.loc["svr", "mae_sd"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    assert (t["seeds"] == 2).all() and (t["n"] == 4).all()
    assert t.loc["ridge", "n_censored"] == 1


def test_val_split_selectable() -> None:
    t = main_table(validate_predictions(hand_table()), ReportSettings(split="val", n_boot=0)).set_index("model")
    assert t.loc["ridge", "seeds"] == 1
    assert t.loc["ridge", "mae_mean"] == pytest.approx(np.mean(np.abs(np.array([9, 9, 9, 9]) - [0, 1, 2, 3])))


def _boot_by_loop(df: pd.DataFrame, n_boot: int, seed: int) -> tuple[float, float]:
    """Independent, slow re-implementation of the paired week (cluster) bootstrap with the scalar r2."""
    week = (df["date"].to_numpy("datetime64[D]").astype(np.int64) + 3) // 7
    weeks = np.unique(week)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(weeks), size=(n_boot, len(weeks)))
    stats = []
    for row in idx:
        vals = []
        for _, g in df.assign(week=week).groupby("seed"):
            g = pd.concat([g[g["week"] == weeks[i]] for i in row])
            vals.append(r2(g["y_true"].to_numpy(), g["y_pred"].to_numpy()))
        stats.append(np.nanmean(vals) if np.isfinite(vals).any() else np.nan)
    return tuple(np.nanquantile(stats, [0.025, 0.975]))


def test_week_bootstrap_matches_a_loop_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=15)
    dates = pd.date_range("2024-07-01", periods=15, freq="3D")  # two or three samples per week
    df = pd.concat(
        [pred_rows("ridge", s, y + rng.normal(scale=0.5, size=15), y_true=y).assign(date=dates) for s in (0, 1, 2)]
    )
    df = validate_predictions(df)
    lo, hi = bootstrap_r2_ci(df, n_boot=200, seed=3)
    assert (lo, hi) == pytest.approx(_boot_by_loop(df, 200, 3))
    est = main_table(df, NOBOOT)["r2_mean"].iloc[0]
    assert lo < est < hi
    assert bootstrap_r2_ci(df, n_boot=200, seed=3) == (lo, hi)  # deterministic


def test_week_bootstrap_resamples_weeks_not_rows() -> None:
    """Rows of one week err together: resampling weeks gives a wider interval than resampling rows."""
    rng = np.random.default_rng(1)
    days = np.repeat(np.arange(10) * 7, 6)  # ten weeks, six samples each
    y = rng.normal(size=60)
    err = np.repeat(rng.normal(scale=0.8, size=10), 6) + rng.normal(scale=0.1, size=60)
    base = pred_rows("ridge", 0, y + err, y_true=y)
    weekly = validate_predictions(base.assign(date=pd.Timestamp("2024-06-03") + pd.to_timedelta(days, "D")))
    daily = validate_predictions(base.assign(date=pd.date_range("2024-06-03", periods=60, freq="7D")))
    lo_w, hi_w = bootstrap_r2_ci(weekly, n_boot=400, seed=0)
    lo_d, hi_d = bootstrap_r2_ci(daily, n_boot=400, seed=0)
    assert hi_w - lo_w > 1.3 * (hi_d - lo_d)


def test_bootstrap_of_perfect_predictions_is_one() -> None:
    df = validate_predictions(pd.concat([pred_rows("ridge", s, [0, 1, 2, 3]) for s in (0, 1)]))
    assert bootstrap_r2_ci(df, n_boot=100) == pytest.approx((1.0, 1.0))


def _ablation() -> pd.DataFrame:
    parts = []
    # targeted: R² 1.0 and 0.8 on seeds 0/1; random: 0.8 and 0.8 → gain 0.2 and 0.0
    for masking, preds in (
        ("spectral-targeted", ([0, 1, 2, 3], [1, 1, 2, 3])),
        ("random", ([1, 1, 2, 3], [0, 1, 2, 2])),
    ):
        for seed, p in enumerate(preds):
            parts.append(
                pred_rows("spectm-frozen", seed, p, experiment="ablation", masking=masking, tasks="rec+idx+fut")
            )
    parts.append(pred_rows("spectm-frozen", 0, [0, 1, 2, 3], experiment="ablation", masking="random", tasks="rec"))
    return validate_predictions(pd.concat(parts, ignore_index=True))


def test_ablation_and_paired_gain() -> None:
    df = _ablation()
    a = ablation_table(df, NOBOOT).set_index(["masking", "tasks"])
    assert a.loc[("spectral-targeted", "rec+idx+fut"), "r2_mean"] == pytest.approx(0.9)
    assert a.loc[("random", "rec+idx+fut"), "r2_mean"] == pytest.approx(0.8)
    g = masking_gain(df, NOBOOT)
    assert len(g) == 1  # "rec" has no targeted cell: no gain row
    row = g.iloc[0]
    assert row["tasks"] == "rec+idx+fut" and row["pairs"] == 2
    assert row["gain_mean"] == pytest.approx(0.1)
    assert row["gain_sd"] == pytest.approx(np.std([0.2, 0.0], ddof=1))


def test_label_efficiency_uses_main_as_the_full_point() -> None:
    df = validate_predictions(
        pd.concat(
            [
                pred_rows("ridge", 0, [0, 1, 2, 3]),
                pred_rows("ridge", 0, [1.5, 1.5, 1.5, 1.5], experiment="label_efficiency", fraction=0.05, n_train=1),
            ]
        )
    )
    t = label_efficiency_table(df, NOBOOT)
    assert t["label_fraction"].tolist() == [0.05, 1.0]
    assert t["r2_mean"].tolist() == pytest.approx([0.0, 1.0])
    assert t["n_train"].tolist() == [1, 20]


def test_bad_tables_are_refused() -> None:
    with pytest.raises(SchemaError, match="y_pred"):
        validate_predictions(hand_table().drop(columns=["y_pred"]))
    bad = hand_table()
    bad.loc[0, "y_pred"] = np.nan
    with pytest.raises(SchemaError, match="non-finite"):
        validate_predictions(bad)
    bad = hand_table()
    bad.loc[0, "experiment"] = "other"
    with pytest.raises(SchemaError, match="experiment"):
        validate_predictions(bad)


def test_label_efficiency_leaves_out_models_without_a_curve() -> None:
    df = validate_predictions(
        pd.concat(
            [
                pred_rows("ridge", 0, [0, 1, 2, 3]),
                pred_rows("svr", 0, [0, 1, 2, 3]),  # main only: no curve
                pred_rows("ridge", 0, [1.5, 1.5, 1.5, 1.5], experiment="label_efficiency", fraction=0.1),
            ]
        )
    )
    assert set(label_efficiency_table(df, NOBOOT)["model"]) == {"ridge"}


def test_detected_only_metrics_leave_censored_rows_out() -> None:
    s = per_seed(validate_predictions(hand_table())).set_index(["model", "seed"])
    # ridge s1: [1, 1, 2, 3] vs [0, 1, 2, 3] with row 0 censored → detected rows are perfect
    assert s.loc[("ridge", 1), "n_detected"] == 3
    assert s.loc[("ridge", 1), ["r2_det", "rmse_det"]].tolist() == pytest.approx([1.0, 0.0])
    assert s.loc[("ridge", 1), "r2"] == pytest.approx(0.8)  # all rows, censored at LOD/√2, as before


def test_auc_and_balanced_accuracy_against_scikit_learn() -> None:
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from spectm.evaluate.metrics import auc, balanced_accuracy

    rng = np.random.default_rng(0)
    y = rng.random(50) < 0.3
    score = y + rng.normal(scale=0.8, size=50)
    score[:5] = score[5]  # ties
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert balanced_accuracy(y, score > 0.5) == pytest.approx(balanced_accuracy_score(y, score > 0.5))
    assert math.isnan(auc(np.zeros(4, bool), np.arange(4.0)))


def test_threshold_skill_in_ug_per_litre_and_unknown_censored_rows() -> None:
    from spectm.evaluate.metrics import threshold_skill

    lg = np.log10
    y_true = np.array([lg(0.5), lg(2.0), lg(8.0), lg(3.0 / np.sqrt(2)), lg(0.3 / np.sqrt(2))])
    censored = np.array([False, False, False, True, True])  # LOD 3 µg/L and 0.3 µg/L
    y_pred = np.array([lg(1.0), lg(1.0), lg(7.0), lg(2.0), lg(0.1)])
    bacc, auc_, n = threshold_skill(y_true, y_pred, censored, 1.6)
    # the row censored at LOD 3 µg/L may be above 1.6: its class is unknown, it is left out
    # known: 0.5 (no), 2.0 (yes), 8.0 (yes), <0.3 (no); predicted ≥ 1.6: no, no, yes, no
    assert n == 2 and bacc == pytest.approx((0.5 + 1.0) / 2)
    assert auc_ == pytest.approx(3.5 / 4)  # of 4 (yes, no) pairs, one tie (both scored 1 µg/L): ½
    bacc6, _, n6 = threshold_skill(y_true, y_pred, censored, 6.0)
    assert n6 == 1 and bacc6 == pytest.approx(1.0)  # the LOD-3 row is known to be below 6


def test_paired_difference_is_the_r2_difference_on_common_rows() -> None:
    from spectm.evaluate.metrics import paired_difference_ci

    rng = np.random.default_rng(2)
    y = rng.normal(size=30)
    dates = pd.date_range("2024-06-03", periods=30, freq="2D")
    a = validate_predictions(
        pred_rows("spectm-frozen", 0, y + rng.normal(scale=0.3, size=30), y_true=y).assign(date=dates)
    )
    b = validate_predictions(pred_rows("ridge", 0, y + rng.normal(scale=0.7, size=30), y_true=y).assign(date=dates))
    d, lo, hi, n = paired_difference_ci(a, b.iloc[:-2], n_boot=300, seed=1)  # b lacks two rows
    assert n == 28
    ra = r2(a["y_true"].to_numpy()[:28], a["y_pred"].to_numpy()[:28])
    rb = r2(b["y_true"].to_numpy()[:28], b["y_pred"].to_numpy()[:28])
    assert d == pytest.approx(ra - rb) and lo < d < hi
    same = paired_difference_ci(a, a.assign(model="x"), n_boot=100)
    assert same[:3] == pytest.approx((0.0, 0.0, 0.0))


def test_paired_table_pairs_spectm_with_ridge_and_everything_with_climatology() -> None:
    from spectm.evaluate.tables import paired_table

    y = [0.0, 1.0, 2.0, 3.0, 1.0, 2.0]
    parts = [
        pred_rows(m, s, np.array(y) + off, y_true=y)
        for m, off in (("spectm-frozen", 0.1), ("ridge", 0.5), ("climatology", 1.0), ("ceiling-ridge", 0.0))
        for s in (0, 1)
    ]
    t = paired_table(validate_predictions(pd.concat(parts)), ReportSettings(n_boot=50))
    pairs = set(zip(t["model"], t["reference"], strict=True))
    assert pairs == {("spectm-frozen", "ridge"), ("spectm-frozen", "climatology"), ("ridge", "climatology")}
    row = t.set_index(["model", "reference"]).loc[("spectm-frozen", "ridge")]
    assert row["diff"] == pytest.approx(row["r2_model"] - row["r2_reference"])


def test_best_model_is_never_a_reference_row() -> None:
    from spectm.evaluate.tables import best_models

    parts = [
        pred_rows("ceiling-ridge", 0, [0, 1, 2, 3]),
        pred_rows("ridge", 0, [0.5, 1, 2, 3]),
        pred_rows("climatology", 0, [1.5, 1.5, 1.5, 1.5]),
    ]
    assert best_models(main_table(validate_predictions(pd.concat(parts)), NOBOOT)) == {"current": "ridge"}
