"""Seasons simulated in parallel processes give exactly the files of one process."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from spectm.errors import BadInputError
from spectm.twin import generate_twin
from spectm.twin.seasons import season_workers

from .conftest import mini_aoi, mini_samples


def _rrs(path: Path) -> np.ndarray:
    with netCDF4.Dataset(path) as ds:
        return np.asarray(ds["geophysical_data/Rrs"][:].filled(np.nan))


def test_two_workers_write_what_one_writes(tmp_path: Path) -> None:
    kw = {"months": "8-8", "seed": 0, "include_s2": False, "samples": mini_samples()}
    dates = "2023-08-06:2024-08-07"
    one = generate_twin(mini_aoi(), dates, data_dir=tmp_path / "one", workers=1, **kw)
    two = generate_twin(mini_aoi(), dates, data_dir=tmp_path / "two", workers=2, **kw)
    assert one.n_seasons == two.n_seasons == 2
    assert [g.name for g in one.granules] == [g.name for g in two.granules]
    assert {g.name[9:13] for g in one.granules} == {"2023", "2024"}  # both seasons, in season order
    for a, b in zip(one.granules, two.granules, strict=True):
        np.testing.assert_array_equal(_rrs(a), _rrs(b))
    assert one.drivers_source == two.drivers_source and one.notes == two.notes


def test_season_workers() -> None:
    assert season_workers(None, 1) == 1
    assert season_workers(8, 3) == 3
    assert 1 <= season_workers(None, 13) <= 4
    with pytest.raises(BadInputError, match="workers"):
        season_workers(0, 3)
