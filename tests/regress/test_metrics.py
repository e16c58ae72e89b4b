"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spectm.errors import BadInputError
from spectm.regress.metrics import mae, r2, rmse, scores


def test_metrics_match_hand_computed_values() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    yhat = np.array([1.5, 2.0, 2.0, 4.5])
    # residuals -0.5, 0, 1, -0.5 → SSE 0.25+0+1+0.25 = 1.5; mean y 2.5 → SST 2.25+0.25+0.25+2.25 = 5
    assert r2(y, yhat) == pytest.approx(1 - 1.5 / 5)  # 0.7
    assert rmse(y, yhat) == pytest.approx(math.sqrt(1.5 / 4))  # 0.6124
    assert mae(y, yhat) == pytest.approx(2.0 / 4)  # 0.5
    assert scores(y, yhat) == {"r2": pytest.approx(0.7), "rmse": pytest.approx(0.6123724), "mae": 0.5, "n": 4}


def test_r2_is_negative_for_a_model_worse_than_the_mean_and_one_when_perfect() -> None:
    y = np.array([0.0, 1.0])
    assert r2(y, np.array([1.0, 0.0])) == pytest.approx(1 - 2 / 0.5)  # SSE 2, SST 0.5 → −3
    assert r2(y, y) == 1.0
    assert math.isnan(r2(np.array([2.0, 2.0]), np.array([1.0, 3.0])))  # constant y: undefined


def test_metrics_reject_nan_and_shape_mismatch() -> None:
    with pytest.raises(BadInputError, match="NaN"):
        rmse(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(BadInputError, match="one prediction per label"):
        mae(np.array([1.0, 2.0]), np.array([1.0]))
