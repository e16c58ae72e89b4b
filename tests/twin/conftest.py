"""A tiny twin generated once per test session (2 days, a 0.3° × 0.25° box near the stations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from spectm.aoi import AOI, parse_bbox
from spectm.twin import TwinResult, generate_twin

MINI_BBOX = (-83.45, 41.62, -83.15, 41.87)
DATES = "2024-08-05:2024-08-06"


def mini_aoi() -> AOI:
    """A small AOI with the real water polygon and two real MGRS tiles."""
    region = parse_bbox("lake_erie_western_basin")
    b = box(*MINI_BBOX)
    return AOI(
        name="mini",
        bbox=MINI_BBOX,
        geometry=b,
        crs="EPSG:32617",
        water=region.water.intersection(b),
        s2_tiles=["17TKG", "17TLG"],
        stations=region.stations,
    )


def mini_samples() -> pd.DataFrame:
    """Synthetic surface samples at three stations on two days (Chl, PC given; CDOM/TSS missing)."""
    rows = []
    for day, scale in (("2024-07-30", 1.0), ("2024-08-08", 2.0)):
        for st, lat, lon, chl in (
            ("WE2", 41.7628, -83.3304, 30.0),
            ("WE4", 41.8265, -83.1946, 8.0),
            ("WE12", 41.7034, -83.2547, 15.0),
        ):
            rows.append(
                {
                    "station": st,
                    "station_kind": "station",
                    "date": day,
                    "lat": lat,
                    "lon": lon,
                    "depth_category": "surface",
                    "chla_ugL": chl * scale,
                    "pc_ugL": chl * scale * 0.4,
                    "cdom_a400_m1": np.nan,
                    "tss_mgL": np.nan,
                    "pmc_ugL": 1.0,
                }
            )
    return pd.DataFrame(rows)


def _gen(root: Path, seed: int = 0) -> TwinResult:
    return generate_twin(
        mini_aoi(), DATES, data_dir=root, seed=seed, s2_resolution_m=120.0, s2_revisit_days=1, samples=mini_samples()
    )


@pytest.fixture(scope="session")
def mini_twin(tmp_path_factory: pytest.TempPathFactory) -> TwinResult:
    return _gen(tmp_path_factory.mktemp("twin") / "data")


@pytest.fixture(scope="session")
def mini_twin_again(tmp_path_factory: pytest.TempPathFactory) -> TwinResult:
    return _gen(tmp_path_factory.mktemp("twin2") / "data")
