"""Access to ``catalogs/``: regions, sources and station tables.

Catalogs are data, not code. They are found, in order of precedence, in

1. ``$SPECTM_CATALOGS`` (a directory laid out like ``catalogs/``),
2. ``<data-dir>/catalogs`` (a user's own lakes next to their data),
3. the catalogs shipped with spectm (``catalogs/`` of a source checkout, or
   ``spectm/_catalogs`` inside an installed wheel).

A user adds a lake by dropping ``regions/<name>.yaml`` (and its water GeoJSON)
into one of the first two, without touching code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from spectm.config import EarthaccessSource, Region, StacSource, load_yaml, validate_model
from spectm.errors import ConfigError, RegionError

if TYPE_CHECKING:  # pandas loads where a station table is read: aoi, and so every --bbox, imports this module
    import pandas as pd

_PKG = Path(__file__).resolve().parent


def builtin_catalog_dir() -> Path:
    """The catalogs shipped with spectm (wheel or source checkout)."""
    for cand in (_PKG / "_catalogs", _PKG.parent / "catalogs"):
        if (cand / "regions").is_dir():
            return cand
    raise ConfigError("spectm's built-in catalogs are missing", "reinstall spectm")


def catalog_dirs(data_dir: Path | None = None) -> list[Path]:
    """All catalog directories, highest precedence first."""
    dirs: list[Path] = []
    env = os.environ.get("SPECTM_CATALOGS")
    if env:
        dirs.append(Path(env))
    if data_dir is not None and (Path(data_dir) / "catalogs").is_dir():
        dirs.append(Path(data_dir) / "catalogs")
    dirs.append(builtin_catalog_dir())
    return dirs


def _files(kind: str, data_dir: Path | None, suffixes: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in reversed(catalog_dirs(data_dir)):  # later (higher precedence) overrides earlier
        sub = d / kind
        if not sub.is_dir():
            continue
        for f in sorted(sub.iterdir()):
            if f.suffix in suffixes:
                found[f.stem] = f
    return found


@lru_cache(maxsize=64)
def _load_region(path: Path) -> Region:
    data = load_yaml(path)
    region = validate_model(Region, data, path)
    if region.name != path.stem:
        raise ConfigError(f"{path}: name '{region.name}' differs from the file name '{path.stem}'", "make them equal")
    region.source_file = str(path)
    return region


def list_regions(data_dir: Path | None = None) -> dict[str, Region]:
    return {name: _load_region(p) for name, p in _files("regions", data_dir, (".yaml", ".yml")).items()}


def get_region(name: str, data_dir: Path | None = None) -> Region:
    files = _files("regions", data_dir, (".yaml", ".yml"))
    if name not in files:
        known = ", ".join(sorted(files)) or "none"
        raise RegionError(
            f"unknown region '{name}' (known: {known})",
            "pass W,S,E,N or a GeoJSON file, or add catalogs/regions/<name>.yaml",
        )
    return _load_region(files[name])


def region_water_path(region: Region) -> Path | None:
    if region.water is None:
        return None
    base = Path(region.source_file).parent if region.source_file else builtin_catalog_dir() / "regions"
    path = (base / region.water).resolve()
    if not path.is_file():
        raise ConfigError(
            f"region '{region.name}': water polygon file {path} does not exist", "fix 'water:' in the region file"
        )
    return path


def list_sources(data_dir: Path | None = None) -> dict[str, EarthaccessSource | StacSource]:
    out: dict[str, EarthaccessSource | StacSource] = {}
    for name, path in _files("sources", data_dir, (".yaml", ".yml")).items():
        data = load_yaml(path)
        kind = data.get("kind") if isinstance(data, dict) else None
        model = {"earthaccess": EarthaccessSource, "stac": StacSource}.get(kind)  # type: ignore[arg-type]
        if model is None:
            raise ConfigError(f"{path}: 'kind' must be 'earthaccess' or 'stac', got {kind!r}", "fix the source file")
        src = validate_model(model, data, path)
        if src.name != name:
            raise ConfigError(f"{path}: name '{src.name}' differs from the file name '{name}'", "make them equal")
        out[name] = src
    return out


def get_source(name: str, data_dir: Path | None = None) -> EarthaccessSource | StacSource:
    sources = list_sources(data_dir)
    if name not in sources:
        raise ConfigError(
            f"unknown source '{name}' (known: {', '.join(sorted(sources))})", "run 'spectm catalogs' to list sources"
        )
    return sources[name]


def list_station_tables(data_dir: Path | None = None) -> dict[str, Path]:
    return _files("stations", data_dir, (".csv",))


def load_stations(name: str = "glerl_western_lake_erie", data_dir: Path | None = None) -> pd.DataFrame:
    """A station table: columns ``station, lat, lon`` (+ optional extras)."""
    tables = list_station_tables(data_dir)
    if name not in tables:
        raise ConfigError(
            f"unknown station table '{name}' (known: {', '.join(sorted(tables))})", "add catalogs/stations/<name>.csv"
        )
    import pandas as pd

    df = pd.read_csv(tables[name])
    missing = {"station", "lat", "lon"} - set(df.columns)
    if missing:
        raise ConfigError(
            f"{tables[name]}: missing columns {sorted(missing)}", "a station table needs station, lat, lon"
        )
    return df
