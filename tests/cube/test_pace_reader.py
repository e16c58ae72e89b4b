from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from spectm.cube.flags import L3_MASK_DEFAULT, flag_table, flagged, mask_bits, parse_flag_names
from spectm.cube.pace_reader import granule_window, open_l2
from spectm.errors import BadInputError
from tests.cube.helpers import PACE_DIR, V31, V32

REAL = PACE_DIR / "PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc"


def _expected(path: Path, var: str) -> np.ndarray:
    """Decode by hand from the file's own attributes (netCDF4, no auto scaling)."""
    with netCDF4.Dataset(path) as nc:
        v = nc["geophysical_data"][var]
        v.set_auto_maskandscale(False)
        raw = v[:].astype(np.float64)
        fill, lo, hi = v.getncattr("_FillValue"), v.getncattr("valid_min"), v.getncattr("valid_max")
        scale, off = float(v.getncattr("scale_factor")), float(v.getncattr("add_offset"))
    bad = (raw == fill) | (raw < lo) | (raw > hi)
    return np.where(bad, np.nan, raw * scale + off)


def test_real_subset_values_match_its_own_encoding():
    g = open_l2(REAL, with_unc=True)
    rrs = g.rrs.values
    np.testing.assert_allclose(rrs, _expected(REAL, "Rrs"), rtol=1e-6, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(g.rrs_unc.values, _expected(REAL, "Rrs_unc"), rtol=1e-6, atol=1e-10, equal_nan=True)
    assert int(np.isfinite(rrs).any(axis=2).sum()) == 11  # README: 11 of the 100 pixels are valid
    assert rrs.shape == (10, 10, 172)
    assert g.wavelength[0] == pytest.approx(346.017, abs=1e-3)
    assert g.wavelength[27] == pytest.approx(412.5, abs=1.0)  # nominal 413 → index 27 (docs/pace.md)
    assert g.wavelength[-1] == pytest.approx(719.298, abs=1e-3)
    assert g.processing_version == "3.1"
    assert g.time_start.isoformat().startswith("2025-03-05T16:09:33")
    assert np.nanmin(g.lon.values) < -67 and np.nanmax(g.lat.values) < 33


def test_v31_and_v32_layouts_read_the_same():
    a, b = open_l2(PACE_DIR / V31), open_l2(PACE_DIR / V32)
    np.testing.assert_array_equal(a.wavelength, b.wavelength)
    np.testing.assert_array_equal(a.rrs.values, b.rrs.values)
    assert a.processing_version == "3.1" and b.processing_version == "3.2"


def test_out_of_valid_range_and_fill_are_nan():
    g = open_l2(PACE_DIR / V31)
    assert np.isnan(g.rrs.values[3, 5, 10])  # raw 26000 > valid_max 25000
    flags = g.flags.values
    land = flagged(flags, g.flag_table["LAND"])
    assert land.any() and np.isnan(g.rrs.values[land]).all()  # LAND pixels are filled at L2


@pytest.mark.filterwarnings("ignore:The specified chunks separate")
def test_reader_is_lazy_and_chunking_does_not_change_values():
    whole = open_l2(PACE_DIR / V31)
    chunked = open_l2(PACE_DIR / V31, chunks={"number_of_lines": 7, "pixels_per_line": 5})
    assert whole.rrs.chunks is not None and chunked.rrs.data.numblocks[0] > 1
    np.testing.assert_array_equal(whole.rrs.values, chunked.rrs.values)


def test_bad_files_raise_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        open_l2(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not a netcdf file")
    with pytest.raises(BadInputError, match="re-download"):
        open_l2(junk)


def test_window_reads_only_rows_over_the_region():
    g = open_l2(PACE_DIR / V31)
    assert granule_window(g, (0.0, 0.0, 1.0, 1.0)) is None
    rows, _cols = granule_window(g, (-83.5, 41.5, -83.3, 41.62))
    assert 0 < rows.stop - rows.start < g.rrs.sizes["line"]


def test_default_mask_is_nasa_l3_mask_by_name():
    with netCDF4.Dataset(REAL) as nc:
        v = nc["geophysical_data"]["l2_flags"]
        attrs = {"flag_meanings": v.flag_meanings, "flag_masks": v.flag_masks}
    table = flag_table(attrs)
    assert mask_bits(L3_MASK_DEFAULT, table) == 0x629D73B == 103405371
    assert table["PRODFAIL"] == 1 << 30 and "SPARE" not in table
    with pytest.raises(BadInputError, match=r"unknown l2_flags name.*NOTAFLAG"):
        mask_bits(["NOTAFLAG"], table)
    assert parse_flag_names("none") == ()
    assert parse_flag_names("default,turbidw")[-1] == "TURBIDW"
    assert parse_flag_names(None) == L3_MASK_DEFAULT
    assert flagged(np.array([np.int32(-2147483648)]), 0x80000000)[0]  # bit 31
