"""The feature store on disk: ``features/<name>/`` (docs/data-layout.md).

```
features/<name>/
  matchups.parquet   GeoParquet (EPSG:4326): one row per matched sample × horizon
  unmatched.csv      sample_id, station, date, horizon, reason, detail — every sample not matched
  chips.zarr         Zarr v3, consolidated=False, chunked along chip only
  manifest.json      inputs (cube fingerprint, samples SHA-256), parameters, counts, output hashes
```

A store is written into ``features/.<name>.partial`` and renamed into place when complete,
so a killed join never leaves a half store that looks finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
import zarr

from spectm.errors import DataNotFoundError, SchemaError
from spectm.provenance import replace_dir_with

MANIFEST = "manifest.json"
MATCHUPS = "matchups.parquet"
UNMATCHED = "unmatched.csv"
CHIPS = "chips.zarr"


def store_dir(data_dir: Path | str, name: str) -> Path:
    return Path(data_dir) / "features" / name


def partial_dir(data_dir: Path | str, name: str) -> Path:
    return Path(data_dir) / "features" / f".{name}.partial"


def write_matchups(df: pd.DataFrame, path: Path) -> None:
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    gdf.to_parquet(path, index=False)


def write_chips(
    ds: xr.Dataset,
    path: Path,
    chips_per_chunk: int = 16,
    fill: Callable[[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
    chips_per_block: int = 2048,
) -> None:
    """Write the chips store. With ``fill``, ``ds`` holds lazy placeholders for ``chips`` and
    ``future``: the metadata is written first, then ``fill(a, b)`` gives chips ``a:b`` block by
    block, so memory is one block however many seasons (and chips) the cube has."""
    n = max(1, min(chips_per_chunk, ds.sizes["chip"]))
    enc: dict[str, dict] = {
        "chips": {"chunks": (n, *ds["chips"].shape[1:])},
        "future": {"chunks": (n, *ds["future"].shape[1:])},
    }
    if fill is None:
        ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, encoding=enc)
        return
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, encoding=enc, compute=False)
    group = zarr.open_group(path, mode="r+", zarr_format=3)
    step = max(n, chips_per_block // n * n)  # whole chunks per block
    total = ds.sizes["chip"]
    for a in range(0, total, step):
        b = min(total, a + step)
        chips, fut = fill(a, b)
        group["chips"][a:b] = chips
        group["future"][a:b] = fut


def commit(tmp: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``tmp`` directory."""
    replace_dir_with(tmp, final)


def read_manifest(data_dir: Path | str, name: str) -> dict[str, Any] | None:
    path = store_dir(data_dir, name) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path} is not valid JSON ({exc})", f"re-run `spectm join --name {name} --force`") from None


def _require(data_dir: Path | str, name: str) -> Path:
    d = store_dir(data_dir, name)
    if not (d / MANIFEST).exists():
        have = ", ".join(list_stores(data_dir)) or "none"
        raise DataNotFoundError(
            f"no feature store '{name}' in {Path(data_dir) / 'features'} (have: {have})",
            f"run `spectm join --name {name}` first",
        )
    return d


def load_matchups(data_dir: Path | str, name: str = "default", horizon: str | None = None) -> gpd.GeoDataFrame:
    """The match-up table (GeoDataFrame, EPSG:4326); ``horizon`` = ``current``/``ahead`` filters."""
    df = gpd.read_parquet(_require(data_dir, name) / MATCHUPS)
    if horizon is not None:
        if horizon not in ("current", "ahead"):
            raise SchemaError(f"unknown horizon '{horizon}'", "use current or ahead")
        df = df[df["horizon"] == horizon].reset_index(drop=True)
    return df


def load_unmatched(data_dir: Path | str, name: str = "default") -> pd.DataFrame:
    return pd.read_csv(_require(data_dir, name) / UNMATCHED, dtype={"date": str, "station": str, "sample_id": str})


def load_chips(data_dir: Path | str, name: str = "default") -> xr.Dataset:
    """The chips store as a lazy xarray Dataset (``chips``: chip, time, band, y, x)."""
    return xr.open_zarr(_require(data_dir, name) / CHIPS, consolidated=False, zarr_format=3)


def list_stores(data_dir: Path | str) -> list[str]:
    root = Path(data_dir) / "features"
    if not root.exists():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists()
    )


def as_str_array(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object)
