"""fit_predict: learning a known relation, leak-free rows, nested label fractions, the table's columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spectm.config import RegressSection
from spectm.errors import BadInputError
from spectm.regress import PREDICTION_COLUMNS, fit_predict
from spectm.regress.data import label_fraction_subset, load_table
from spectm.regress.metrics import r2

from .helpers import make_store


def _test_r2(pred: pd.DataFrame) -> float:
    te = pred[pred["split"] == "test"]
    return r2(te["y_true"].to_numpy(), te["y_pred"].to_numpy())


@pytest.mark.parametrize("model", ["ridge", "rf"])
def test_baseline_learns_a_band_ratio_relation(store_dir: Path, model: str) -> None:
    pred = fit_predict(store_dir, "default", model=model, horizon="current", seed=0)
    assert _test_r2(pred) > 0.9
    assert pred.attrs["params"]  # a grid entry was chosen on val


def test_spectm_frozen_head_learns_the_relation_deterministically(store_dir: Path, encoder: Path) -> None:
    fast = RegressSection(frozen_steps=200)
    a = fit_predict(store_dir, "default", model="spectm-frozen", horizon="ahead", seed=0, encoder=encoder, params=fast)
    b = fit_predict(store_dir, "default", model="spectm-frozen", horizon="ahead", seed=0, encoder=encoder, params=fast)
    assert _test_r2(a) > 0.9
    np.testing.assert_array_equal(a["y_pred"].to_numpy(), b["y_pred"].to_numpy())
    assert set(a["encoder_run"]) == {"enc"} and set(a["masking"]) == {"spectral-targeted"}
    assert set(a["tasks"]) == {"rec+idx+fut"}


def test_predictions_table_has_exactly_the_contract_columns(store_dir: Path) -> None:
    pred = fit_predict(store_dir, "default", model="svr", horizon="ahead", seed=3, label_fraction=0.5)
    assert (
        list(pred.columns)
        == PREDICTION_COLUMNS
        == [
            "experiment",
            "model",
            "horizon",
            "seed",
            "label_fraction",
            "n_train",
            "masking",
            "tasks",
            "encoder_run",
            "split",
            "sample_id",
            "station",
            "date",
            "y_true",
            "censored",
            "y_pred",
        ]
    )
    assert set(pred["split"]) == {"val", "test"} and set(pred["experiment"]) == {"main"}
    assert set(pred["horizon"]) == {"ahead"} and set(pred["model"]) == {"svr"}
    assert pred["date"].dtype == "datetime64[ns]" and pred["censored"].dtype == bool
    assert pred["seed"].iloc[0] == 3 and pred["label_fraction"].iloc[0] == 0.5
    assert (pred["masking"] == "").all() and (pred["encoder_run"] == "").all()
    table = load_table(store_dir, "default")
    ahead = table[table["horizon"] == "ahead"]
    for split in ("val", "test"):  # every val/test row predicted once, with its stored label
        rows = ahead[ahead["split"] == split].set_index("sample_id")
        got = pred[pred["split"] == split].set_index("sample_id")
        assert sorted(got.index) == sorted(rows.index)
        np.testing.assert_allclose(got["y_true"], rows.loc[got.index, "label_log10"])
        assert (got["censored"] == rows.loc[got.index, "pmc_ugL_censored"].astype(bool)).all()
    assert pred["censored"].any()  # the fixture has censored labels


def test_rows_used_for_fitting_are_exactly_the_train_split(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spectm.regress.baselines as bl

    seen: list[np.ndarray] = []
    real = bl.make_estimator

    def spy(model: str, params: dict, seed: int):
        est = real(model, params, seed)
        fit = est.fit

        def recording_fit(x, y):
            seen.append(np.asarray(y).copy())
            return fit(x, y)

        est.fit = recording_fit
        return est

    monkeypatch.setattr(bl, "make_estimator", spy)
    pred = fit_predict(store_dir, "default", model="ridge", horizon="current", seed=0)
    table = load_table(store_dir, "default")
    cur = table[table["horizon"] == "current"]
    train_ids = set(cur.loc[cur["split"] == "train", "sample_id"])
    assert set(pred.attrs["train_sample_ids"]) == train_ids
    assert not train_ids & set(pred["sample_id"])  # no val/test row was fitted on
    expected_y = np.sort(cur.loc[cur["split"] == "train", "label_log10"].to_numpy())
    assert seen and all(np.array_equal(np.sort(y), expected_y) for y in seen)


def test_label_fractions_are_nested_and_seeded(store_dir: Path) -> None:
    table = load_table(store_dir, "default")
    train = table[(table["horizon"] == "current") & (table["split"] == "train")]
    subsets = {f: set(label_fraction_subset(train, f, seed=1)["sample_id"]) for f in (0.05, 0.1, 0.25, 0.5, 1.0)}
    sizes = [len(subsets[f]) for f in (0.05, 0.1, 0.25, 0.5, 1.0)]
    assert sizes == [4, 8, 18, 36, 72]  # ceil(f · 72)
    assert subsets[0.05] < subsets[0.1] < subsets[0.25] < subsets[0.5] < subsets[1.0]
    assert subsets[0.25] == set(label_fraction_subset(train.sample(frac=1, random_state=5), 0.25, seed=1)["sample_id"])
    assert subsets[0.25] != set(label_fraction_subset(train, 0.25, seed=2)["sample_id"])
    pred = fit_predict(store_dir, "default", model="ridge", horizon="current", seed=1, label_fraction=0.1)
    assert set(pred.attrs["train_sample_ids"]) == subsets[0.1] and (pred["n_train"] == 8).all()
    with pytest.raises(BadInputError, match="label_fraction"):
        label_fraction_subset(train, 0.0, seed=1)


def test_rows_without_chip_or_with_missing_features_are_counted(data_dir: Path, encoder: Path) -> None:
    make_store(data_dir, n=40, no_chip=3, nan_feature=2)
    pred = fit_predict(data_dir, "default", model="ridge", horizon="current", seed=0, params=RegressSection(rows="all"))
    c = pred.attrs["counts"]
    assert c["matchups"] == 40 and c["no_chip"] == 3 and c["missing_features"] == 2
    assert c["n_train_total"] == 24 - 2  # baselines keep chip-less rows with rows: all
    same = fit_predict(data_dir, "default", model="ridge", horizon="current", seed=0)  # rows: chips (default)
    assert same.attrs["counts"]["n_train_total"] == 24 - 3 - 2


def test_unknown_model_and_missing_encoder_are_clear_errors(store_dir: Path) -> None:
    with pytest.raises(BadInputError, match="unknown model 'lasso'"):
        fit_predict(store_dir, "default", model="lasso", horizon="current", seed=0)
    with pytest.raises(BadInputError, match="needs a pretrained encoder"):
        fit_predict(store_dir, "default", model="spectm-finetune", horizon="current", seed=0)


def test_fit_limits_threads_and_restores_them(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    import torch

    from spectm.regress import api

    seen: list[int] = []
    real = api.cpu_threads

    @contextmanager
    def spy(n: int | None):
        with real(n):
            seen.append(torch.get_num_threads())
            yield

    monkeypatch.setattr(api, "cpu_threads", spy)
    torch.set_num_threads(2)
    try:
        fit_predict(store_dir, "default", model="ridge", horizon="current", seed=0)
        assert seen == [1] and torch.get_num_threads() == 2  # one thread during the fit, restored after
    finally:
        torch.set_num_threads(1)
