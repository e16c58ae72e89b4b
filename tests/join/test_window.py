"""Window arithmetic on hand-made arrays: location, edges, chip origins, aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from spectm.join.window import Grid, aggregate_pixels, aggregate_window

G = Grid(x=500.0 + 1000.0 * np.arange(10), y=9500.0 - 1000.0 * np.arange(10))


def test_locate_cells_and_outside():
    r, c, inside = G.locate(
        np.array([0.0, 999.9, 1000.0, 9999.0, -1.0, 5000.0]), np.array([10000.0, 9000.5, 8999.0, 0.5, 5000.0, 10000.1])
    )
    assert inside.tolist() == [True, True, True, True, False, False]
    assert r[:4].tolist() == [0, 0, 1, 9] and c[:4].tolist() == [0, 0, 1, 9]
    assert r[4] == c[4] == -1


def test_window_bounds_and_edges():
    assert G.window_bounds(5, 5, 3) == (4, 7, 4, 7)
    assert G.window_bounds(1, 1, 3) == (0, 3, 0, 3)
    assert G.window_bounds(0, 5, 3) is None  # one row above the grid
    assert G.window_bounds(8, 8, 5) is None
    assert G.window_bounds(0, 0, 1) == (0, 1, 0, 1)


def test_chip_origin_is_clamped_inside_the_grid():
    assert G.chip_origin(5, 5, 8) == (1, 1)
    assert G.chip_origin(0, 9, 8) == (0, 2)
    assert G.corner(0, 0) == (0.0, 10000.0)
    with pytest.raises(ValueError):
        G.chip_origin(0, 0, 11)


def test_median_iqr_and_mean_std_over_valid_pixels_only():
    block = np.zeros((2, 3, 3))
    vals = np.arange(9, dtype=float).reshape(3, 3)
    block[0], block[1] = vals, 10 * vals
    block[1, 0, 0] = np.nan  # pixel (0, 0) invalid: one band missing → whole pixel dropped
    block[0, 2, 2] = np.inf
    agg = aggregate_window(block, "median")
    used = np.array([1, 2, 3, 4, 5, 6, 7], float)
    assert agg.n_valid == 7 and agg.n_window == 9 and agg.valid_fraction == pytest.approx(7 / 9)
    assert agg.value.tolist() == pytest.approx([np.median(used), 10 * np.median(used)])
    q = np.percentile(used, [25, 75])
    assert agg.spread[0] == pytest.approx(q[1] - q[0])
    mean = aggregate_window(block, "mean")
    assert mean.value[0] == pytest.approx(used.mean()) and mean.spread[0] == pytest.approx(used.std())


def test_empty_window_and_bad_aggregation():
    agg = aggregate_window(np.full((3, 3, 3), np.nan), "median")
    assert agg.n_valid == 0 and np.isnan(agg.value).all()
    with pytest.raises(ValueError):
        aggregate_pixels(np.ones((2, 1)), "mode")
