from __future__ import annotations

import dask
import numpy as np
import pytest

from spectm.aoi import parse_bbox
from spectm.cube.flags import L3_MASK_DEFAULT, flagged, mask_bits
from spectm.cube.grid import cell_centres, region_geobox
from spectm.cube.pace_reader import open_l2
from spectm.cube.regrid import GranuleGrid, SwathResampler, combine_day
from tests.cube.helpers import BBOX, JUL16A, PACE_DIR, V31


@pytest.fixture(scope="module")
def gb():
    return region_geobox(parse_bbox(BBOX), 1000)


def test_grid_is_snapped_and_nests(gb):
    aoi = parse_bbox(BBOX)
    fine = region_geobox(aoi, 20)
    assert gb.affine.c % 1000 == 0 and gb.affine.f % 1000 == 0
    # same extent: each 1 km cell is exactly 50 × 50 cells of 20 m
    assert (fine.affine.c, fine.affine.f) == (gb.affine.c, gb.affine.f)
    assert fine.shape == (gb.shape[0] * 50, gb.shape[1] * 50)
    x, y = cell_centres(gb)
    assert x[0] == gb.affine.c + 500 and y[0] == gb.affine.f - 500
    assert str(gb.crs) == "EPSG:32617"


def test_matches_pyresample_nearest(gb):
    """Same valid pixels, same radius: the two nearest-neighbour answers agree."""
    from pyresample import geometry, kd_tree

    g = open_l2(PACE_DIR / V31)
    bits = mask_bits(L3_MASK_DEFAULT, g.flag_table)
    r = SwathResampler(gb, radius_m=2000)
    ours = r.regrid_granule(g, bits)
    rrs = g.rrs.values
    valid = ~flagged(g.flags.values, bits) & np.isfinite(rrs).any(axis=2)
    lon, lat = g.lon.values[valid], g.lat.values[valid]
    swath = geometry.SwathDefinition(lons=lon, lats=lat)
    area = geometry.AreaDefinition(
        "g",
        "g",
        "g",
        "EPSG:32617",
        gb.shape[1],
        gb.shape[0],
        (gb.affine.c, gb.affine.f + gb.affine.e * gb.shape[0], gb.affine.c + gb.affine.a * gb.shape[1], gb.affine.f),
    )
    theirs = kd_tree.resample_nearest(swath, rrs[valid][:, 40], area, radius_of_influence=2000, fill_value=np.nan)
    both = np.isfinite(theirs) | np.isfinite(ours.rrs[40])
    same = np.isclose(theirs, ours.rrs[40], equal_nan=True, rtol=0, atol=0)
    assert both.sum() > 500
    assert same[both].mean() > 0.98


def test_flag_masking_by_name_excludes_flagged_pixels(gb):
    g = open_l2(PACE_DIR / V31)
    r = SwathResampler(gb)
    chlwarn = g.flag_table["CHLWARN"]
    sub = slice(None)
    lon, lat, flags = g.lon.values[sub], g.lat.values[sub], g.flags.values[sub]
    has = np.isfinite(g.rrs.values).any(axis=2)
    for bits, expect_flagged in ((mask_bits(["CHLWARN"], g.flag_table), False), (0, True)):
        idx, _ = r.neighbours(lon.astype(float), lat.astype(float), has & ~flagged(flags, bits))
        chosen = flags.ravel()[idx[idx >= 0]]
        assert bool(flagged(chosen, chlwarn).any()) is expect_flagged
    strict = r.regrid_granule(g, mask_bits(L3_MASK_DEFAULT, g.flag_table))
    loose = r.regrid_granule(g, mask_bits(["ATMFAIL", "LAND", "CLDICE", "HILT"], g.flag_table))
    assert strict.stats["pixels_valid"] < loose.stats["pixels_valid"]


def test_dask_equals_eager(gb):
    g = open_l2(PACE_DIR / JUL16A)
    r = SwathResampler(gb)
    bits = mask_bits(L3_MASK_DEFAULT, g.flag_table)
    eager = r.regrid_granule(g, bits)
    with dask.config.set(scheduler="threads"):
        lazy = dask.delayed(r.regrid_granule)(g, bits).compute()
    np.testing.assert_array_equal(eager.rrs, lazy.rrs)
    np.testing.assert_array_equal(eager.valid, lazy.valid)


def test_combine_rule_mean_of_valid_granules_and_count():
    nan = np.nan
    a = GranuleGrid(np.array([[[1.0, nan], [3.0, nan]]], np.float32), np.array([[1, 0], [1, 0]], bool))
    b = GranuleGrid(np.array([[[3.0, 5.0], [nan, nan]]], np.float32), np.array([[1, 1], [0, 0]], bool))
    mean, count, unc = combine_day([a, b])
    np.testing.assert_array_equal(mean[0], [[2.0, 5.0], [3.0, nan]])
    np.testing.assert_array_equal(count, [[2, 1], [1, 0]])
    assert unc is None
