"""No look-ahead: an image is built only from samples taken on or before its day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import rasterio

from spectm.twin import generate_twin

from .conftest import mini_aoi, mini_samples

DATES = "2024-08-06:2024-08-09"
CHANGED_DAY = date(2024, 8, 8)


def _rrs(path: Path) -> np.ndarray:
    with netCDF4.Dataset(path) as ds:
        return np.asarray(ds["geophysical_data/Rrs"][:].filled(np.nan))


def _s2_red(root: Path) -> dict[str, np.ndarray]:
    out = {}
    for p in sorted(root.glob("raw/s2/*/red.tif")):
        with rasterio.open(p) as src:
            out[p.parent.name] = src.read(1)
    return out


def _day(name: str) -> date:
    stamp = name.split(".")[1] if name.startswith("PACE_OCI") else name.split("_")[2]
    return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]))


def test_changing_a_sample_changes_no_earlier_image(tmp_path: Path) -> None:
    base = mini_samples()
    changed = base.copy()
    on_day = pd.to_datetime(changed["date"]).dt.date == CHANGED_DAY
    assert on_day.any()
    changed.loc[on_day, "chla_ugL"] *= 3.0
    changed.loc[on_day, "pc_ugL"] *= 5.0
    kw = {"seed": 0, "s2_resolution_m": 120.0, "s2_revisit_days": 1}
    a = generate_twin(mini_aoi(), DATES, data_dir=tmp_path / "a", samples=base, **kw)
    b = generate_twin(mini_aoi(), DATES, data_dir=tmp_path / "b", samples=changed, **kw)
    assert [p.name for p in a.granules] == [p.name for p in b.granules] and len(a.granules) == 4
    before = after = 0
    for ga, gb in zip(a.granules, b.granules, strict=True):
        ra, rb = _rrs(ga), _rrs(gb)
        if _day(ga.name) < CHANGED_DAY:
            np.testing.assert_array_equal(ra, rb)
            before += 1
        else:
            assert not np.array_equal(ra, rb, equal_nan=True), ga.name
            after += 1
    assert before == 2 and after == 2
    sa, sb = _s2_red(a.data_dir), _s2_red(b.data_dir)
    assert sa.keys() == sb.keys() and sa
    s2_before = [k for k in sa if _day(k) < CHANGED_DAY]
    s2_after = [k for k in sa if _day(k) >= CHANGED_DAY]
    assert s2_before and s2_after
    for k in s2_before:
        np.testing.assert_array_equal(sa[k], sb[k])
    assert any(not np.array_equal(sa[k], sb[k]) for k in s2_after)
