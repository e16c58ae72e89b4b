"""The twin on a user's data dir: their samples are never overwritten; an interrupted run is recognised."""

from __future__ import annotations

from pathlib import Path

import pytest

from spectm.errors import SpectmError
from spectm.twin import generate_twin
from spectm.twin.generate import IN_PROGRESS

from .conftest import mini_aoi, mini_samples

DATES = "2024-08-05:2024-08-05"
KW = {"include_s2": False, "pace_resolution_m": 2000.0}


def test_existing_samples_parquet_drives_the_twin_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "insitu" / "samples.parquet"
    path.parent.mkdir(parents=True)
    mini_samples().to_parquet(path)
    before = path.read_bytes()
    res = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, **KW)
    assert path.read_bytes() == before
    assert res.drivers_source == "samples" and res.samples_path == path
    assert any("existing insitu/samples.parquet" in n for n in res.notes)


def test_interrupted_run_is_regenerated_or_named(tmp_path: Path) -> None:
    first = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), **KW)
    raw = tmp_path / "raw"
    assert not (raw / IN_PROGRESS).exists()
    # killed before the manifest: the same parameters regenerate, without --force
    (raw / "manifest.json").unlink()
    (raw / IN_PROGRESS).write_text(first.params_hash)
    again = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), **KW)
    assert again.status == "done" and any("interrupted" in n for n in again.notes)
    # other parameters over an interrupted run: one line naming --force
    (raw / "manifest.json").unlink()
    (raw / IN_PROGRESS).write_text(first.params_hash)
    with pytest.raises(SpectmError, match="interrupted; re-run with --force"):
        generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), seed=1, **KW)


def _pond() -> object:
    from shapely.geometry import box

    from spectm.aoi import AOI

    bbox = (-81.95, 42.0, -81.8, 42.1)  # open water of the central basin, far from the Maumee mouth
    return AOI(
        name="pond", bbox=bbox, geometry=box(*bbox), crs="EPSG:32617", water=box(*bbox), s2_tiles=[], stations=None
    )


def test_other_lake_uses_its_own_samples_and_a_generic_prior(tmp_path: Path) -> None:
    import json

    import pandas as pd

    inside = pd.DataFrame(
        [
            {
                "station": "P1",
                "station_kind": "station",
                "date": d,
                "lat": 42.05,
                "lon": -81.9,
                "depth_category": "surface",
                "chla_ugL": chl,
                "pc_ugL": chl * 0.2,
                "pmc_ugL": 1.0,
            }
            for d, chl in (("2024-05-01", 5.0), ("2024-08-01", 40.0))
        ]
    )
    both = pd.concat([mini_samples(), inside], ignore_index=True)
    res = generate_twin(_pond(), "2024-08-02:2024-08-02", data_dir=tmp_path / "a", samples=both, **KW)
    assert res.drivers_source == "samples"
    assert any("Maumee" in n for n in res.notes)
    man = json.loads((tmp_path / "a" / "raw" / "manifest.json").read_text())
    assert man["twin"]["seasons"][0]["samples_used"] == 1  # P1 only: the western-basin stations are outside
    res = generate_twin(_pond(), "2024-08-02:2024-08-02", data_dir=tmp_path / "b", samples=mini_samples(), **KW)
    assert res.drivers_source == "climatology"
    assert next(n for n in res.notes if "climatology" in n).endswith("inside the region")


def test_generic_prior_levels_come_from_earlier_samples_only() -> None:
    from datetime import date

    import pandas as pd

    from spectm.twin.drivers import levels_before

    s = pd.DataFrame(
        [
            {
                "station": "P1",
                "station_kind": "station",
                "date": d,
                "lat": 42.05,
                "lon": -81.9,
                "depth_category": "surface",
                "chla_ugL": v,
            }
            for d, v in (("2024-05-01", 4.0), ("2024-05-08", 9.0), ("2024-08-01", 400.0))
        ]
    )
    assert levels_before(s, date(2024, 6, 1)) == {"chl": pytest.approx(6.0)}
    assert levels_before(s, date(2024, 6, 1), bbox=(-83.5, 41.5, -83.0, 41.9)) == {}


def test_user_csv_sites_drive_the_twin() -> None:
    """Rows of a user's own CSV are ``station_kind == "user"``: they drive the fields and set the
    generic prior's levels like GLERL stations do (they were dropped: climatology on one's own lake)."""
    from datetime import date

    import pandas as pd

    from spectm.dates import parse_dates
    from spectm.twin.drivers import drivers_from_samples, levels_before

    s = pd.DataFrame(
        [
            {
                "station": "LZ40",
                "station_kind": "user",
                "date": d,
                "lat": 26.91,
                "lon": -80.8,
                "depth_category": "surface",
                "chla_ugL": v,
            }
            for d, v in (("2024-06-04", 14.0), ("2024-06-18", 18.0), ("2024-07-02", 17.5))
        ]
    )
    bbox = (-81.15, 26.65, -80.55, 27.25)
    assert levels_before(s, date(2024, 6, 10), bbox=bbox) == {"chl": pytest.approx(14.0)}
    assert len(drivers_from_samples(s, parse_dates("2024-07-01:2024-07-28"), bbox=bbox)) == 2
    ad_hoc = s.assign(station_kind="adhoc")
    assert levels_before(ad_hoc, date(2024, 6, 10), bbox=bbox) == {}
