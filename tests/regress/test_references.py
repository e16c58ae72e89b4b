"""The reference rows (in-situ ceiling, week climatology) and leave-one-season-out folds in fit_predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spectm.errors import BadInputError, DataNotFoundError
from spectm.regress import fit_predict
from spectm.regress.baselines import fit_baseline
from spectm.regress.metrics import r2
from spectm.regress.references import (
    WeekClimatology,
    insitu_matrix,
    parse_reference,
    reference_models,
)
from tests.regress.helpers import make_store


def _test_r2(df: pd.DataFrame) -> float:
    t = df[df["split"] == "test"]
    return r2(t["y_true"].to_numpy(), t["y_pred"].to_numpy())


def test_reference_names() -> None:
    assert parse_reference("climatology") == ("climatology", None)
    assert parse_reference("ceiling-rf") == ("ceiling", "rf")
    assert parse_reference("ceiling-chl-ridge") == ("ceiling-chl", "ridge")
    assert parse_reference("ridge") is None and parse_reference("ceiling-xgb") is None
    assert reference_models(["climatology", "ceiling", "ceiling-chl"], ["ridge", "rf"]) == [
        "climatology",
        "ceiling-ridge",
        "ceiling-rf",
        "ceiling-chl-ridge",
        "ceiling-chl-rf",
    ]


def test_insitu_matrix_censors_at_lod_over_sqrt2() -> None:
    df = pd.DataFrame(
        {
            "chla_ugL": [10.0, np.nan],
            "pc_ugL": [0.2, 0.2],
            "pc_ugL_censored": [True, False],
            "pc_ugL_lod": [0.2, np.nan],
        }
    )
    x = insitu_matrix(df, "ceiling")
    assert x[0].tolist() == pytest.approx([1.0, np.log10(0.2 / np.sqrt(2))])
    assert np.isnan(x[1, 0]) and x[1, 1] == pytest.approx(np.log10(0.2))
    with pytest.raises(DataNotFoundError, match="pc_ugL"):
        insitu_matrix(df.drop(columns="pc_ugL"), "ceiling")


def test_week_climatology_pools_neighbouring_weeks_and_falls_back() -> None:
    dates = pd.to_datetime(["2024-07-01", "2024-07-02", "2024-07-09", "2024-07-16", "2024-09-02"])
    y = np.array([1.0, 2.0, 3.0, 5.0, 10.0])
    clim = WeekClimatology().fit(dates, y)
    # week 28 (2024-07-08..14) pools weeks 27-29: 1, 2, 3, 5 → 2.75; week 40 has < 3 rows: overall mean 4.2
    got = clim.predict(pd.to_datetime(["2024-07-10", "2024-10-01"]))
    assert got.tolist() == pytest.approx([2.75, 4.2])
    assert clim.fallbacks == 1


def test_ceiling_fits_measured_pigments_on_the_baselines_rows(tmp_path: Path) -> None:
    make_store(tmp_path, n=80, insitu=True)
    ridge = fit_predict(tmp_path, "default", model="ridge", horizon="current", seed=0)
    ceil = fit_predict(tmp_path, "default", model="ceiling-ridge", horizon="current", seed=0)
    chl = fit_predict(tmp_path, "default", model="ceiling-chl-ridge", horizon="current", seed=0)
    assert set(ceil["sample_id"]) == set(ridge["sample_id"]) == set(chl["sample_id"])
    assert ceil.attrs["train_sample_ids"] == ridge.attrs["train_sample_ids"]
    # the same grid search as the baselines, on log10 of the measured pigments of the same rows
    table = pd.read_parquet(tmp_path / "features" / "default" / "matchups.parquet")
    cur = table[table["horizon"] == "current"].set_index("sample_id")
    rows = {k: cur.loc[ceil.loc[ceil["split"] == k, "sample_id"]] for k in ("val", "test")}
    train = cur.loc[ceil.attrs["train_sample_ids"]]
    fit = fit_baseline(
        "ridge",
        insitu_matrix(train, "ceiling"),
        train["label_log10"].to_numpy(),
        insitu_matrix(rows["val"], "ceiling"),
        rows["val"]["label_log10"].to_numpy(),
        0,
    )
    expect = fit.estimator.predict(insitu_matrix(rows["test"], "ceiling"))
    assert ceil.loc[ceil["split"] == "test", "y_pred"].to_numpy() == pytest.approx(expect)
    # the pigments carry the label (log-linear, 0.05 noise): the ceiling beats chance by far
    assert _test_r2(ceil) > 0.5 and _test_r2(chl) > 0.5
    clim = fit_predict(tmp_path, "default", model="climatology", horizon="current", seed=0)
    assert set(clim["sample_id"]) == set(ridge["sample_id"])
    assert clim.attrs["params"]["half_width_weeks"] == 1


def test_ceiling_without_pigments_is_a_clear_error(tmp_path: Path) -> None:
    make_store(tmp_path, n=40)
    with pytest.raises(DataNotFoundError, match="no in-situ column"):
        fit_predict(tmp_path, "default", model="ceiling-ridge", horizon="current", seed=0)


def test_season_fold_never_sees_the_held_out_season(tmp_path: Path) -> None:
    make_store(tmp_path, n=80, seasons=4)  # 2021-2024
    df = fit_predict(tmp_path, "default", model="ridge", horizon="current", seed=0, cv_season=2022)
    years = df.assign(y=pd.to_datetime(df["date"]).dt.year).groupby("split")["y"].unique()
    assert set(years["test"]) == {2022} and set(years["val"]) == {2024}
    table = pd.read_parquet(tmp_path / "features" / "default" / "matchups.parquet")
    train_years = set(pd.to_datetime(table.set_index("sample_id").loc[df.attrs["train_sample_ids"], "date"]).dt.year)
    assert train_years == {2021, 2023}
    # every labelled current row of 2022 is predicted (the store's own split does not matter)
    cur = table[(table["horizon"] == "current") & (pd.to_datetime(table["date"]).dt.year == 2022)]
    assert len(df[df["split"] == "test"]) == len(cur)


def test_season_fold_needs_three_seasons(tmp_path: Path) -> None:
    make_store(tmp_path, n=40, seasons=2)
    with pytest.raises(BadInputError, match="≥ 3 seasons"):
        fit_predict(tmp_path, "default", model="ridge", horizon="current", seed=0, cv_season=2024)
