"""Tiny hand-built cubes and samples for the join tests, following docs/data-layout.md exactly.

The grid: 12 × 12 cells of 1000 m, EPSG:32617, cell centres x = 300500 … 311500,
y = 4620500 … 4609500 (north-up). Six wavelengths that carry CI, SS665 and NDCI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401
import xarray as xr
from pyproj import Transformer

WL = np.array([443.0, 560.0, 620.0, 665.0, 681.0, 709.0])
N = 12
RES = 1000.0
X = 300500.0 + RES * np.arange(N)
Y = 4620500.0 - RES * np.arange(N)
DATA = Path(__file__).resolve().parents[1] / "data" / "join"


def lonlat(row: float, col: float) -> tuple[float, float]:
    """lon, lat of a (fractional) cell position: (row, col) = cell centre."""
    tr = Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True)
    x = X[0] + col * RES
    y = Y[0] - row * RES
    return tr.transform(x, y)


def spectrum(level: float) -> np.ndarray:
    """A plausible Rrs spectrum; ``level`` scales the red-edge peak (CI rises with it)."""
    return np.array([0.004, 0.012, 0.006, 0.005, 0.005 + 0.002 * level, 0.003 + 0.004 * level])


@dataclass
class CubeSpec:
    days: list[str]  # UTC dates of the slices, overpass 17:40 UTC
    rrs: np.ndarray  # (time, band, y, x)


def base_rrs(n_t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.5, 1.5, (n_t, N, N))
    r = spectrum(0.0)[None, :, None, None] + np.zeros((n_t, WL.size, N, N))
    r[:, 4] += 0.002 * level
    r[:, 5] += 0.004 * level
    return r.astype(np.float32)


def write_cube(data_dir: Path, spec: CubeSpec, region: str = "tiny", incomplete: tuple[int, ...] = ()) -> Path:
    """Write ``cubes/<region>_pace.zarr`` as build-cube does (variables, dims, attrs, CRS)."""
    times = pd.to_datetime(spec.days) + pd.Timedelta(hours=17, minutes=40)
    rrs = spec.rrs.astype(np.float32)
    valid = np.isfinite(rrs).all(axis=1).astype(np.uint8)
    complete = np.ones(len(times), np.uint8)
    complete[list(incomplete)] = 0
    ds = xr.Dataset(
        {
            "rrs": (("time", "wavelength", "y", "x"), rrs),
            "valid_count": (("time", "y", "x"), valid),
            "slice_complete": ("time", complete),
            "source_ids": (
                "time",
                np.array([f"PACE_OCI.{t:%Y%m%dT%H%M%S}.L2.OC_AOP.V3_1" for t in times], dtype=object),
            ),
            "config_hash": ("time", np.array(["abc123"] * len(times), dtype=object)),
        },
        coords={"time": times.values.astype("datetime64[ns]"), "wavelength": WL, "y": Y, "x": X},
        attrs={
            "spectm_region": region,
            "spectm_sensor": "pace",
            "config_hash": "abc123",
            "Conventions": "CF-1.8, ACDD-1.3",
        },
    )
    ds = ds.rio.write_crs("EPSG:32617")
    path = Path(data_dir) / "cubes" / f"{region}_pace.zarr"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    return path


def write_samples(data_dir: Path, rows: list[dict]) -> Path:
    """Write ``insitu/samples.parquet`` with the contract's columns (missing ones filled)."""
    out = []
    for i, r in enumerate(rows):
        lon, lat = lonlat(*r["cell"])
        t = r.get("time_utc", f"{r['date']} 15:00")
        rec = {
            "sample_id": r.get("sample_id", f"{r['station']}_{r['date'].replace('-', '')}_surface_{i}"),
            "station": r["station"],
            "station_kind": r.get("station_kind", "station"),
            "time_utc": pd.Timestamp(t, tz="UTC") if t is not None else pd.NaT,
            "date": r["date"],
            "lat": lat,
            "lon": lon,
            "depth_category": r.get("depth", "surface"),
            "pmc_ugL": r.get("pmc", 1.0),
            "pmc_ugL_censored": r.get("censored", False),
            "pmc_ugL_lod": r.get("lod", 0.1 if r.get("censored") else np.nan),
            "chla_ugL": r.get("chla", 20.0),
            "chla_ugL_censored": False,
            "chla_ugL_lod": np.nan,
            "flags": "",
            "source_file": "test",
            "source_row": i + 1,
        }
        out.append(rec)
    df = pd.DataFrame(out)
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    path = Path(data_dir) / "insitu" / "samples.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_parquet(path, index=False)
    return path
