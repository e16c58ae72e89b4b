"""``spectm features export``: the match-up table as CSV or GeoPackage for other tools.

The store keeps match-ups as GeoParquet (docs/data-layout.md), which pandas and GeoPandas
read but a spreadsheet or QGIS user may not. CSV carries every column, with the sample's
``lon``/``lat`` (WGS 84) standing for the geometry; GeoPackage carries the point
geometry in EPSG:4326, one layer named after the store, times as UTC ISO strings (GeoPackage
has one datetime type without time zones; an ISO string keeps the ``Z`` explicit).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spectm.errors import BadInputError
from spectm.join.store import load_matchups
from spectm.provenance import atomic_path

FORMATS = ("csv", "gpkg")


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Datetimes as ISO-8601 UTC strings, nullable booleans as 0/1/empty: types every reader shares."""
    out = df.copy()
    for col in out.columns:
        if col == "geometry":
            continue
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            t = s.dt.tz_convert("UTC") if s.dt.tz is not None else s
            out[col] = t.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(s.notna(), None)
        elif s.dtype == object and s.dropna().map(lambda v: isinstance(v, bool)).all() and s.notna().any():
            out[col] = s.map(lambda v: None if v is None or v != v else int(bool(v))).astype("Int8")
    return out


def export_matchups(
    data_dir: Path | str,
    name: str,
    out: Path | str,
    *,
    fmt: str | None = None,
    horizon: str | None = None,
) -> tuple[Path, int]:
    """Write the match-ups of ``features/<name>/`` to ``out``; returns (path, rows written).

    ``fmt`` defaults to ``out``'s suffix (``.csv`` or ``.gpkg``); ``horizon`` keeps one horizon.
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise BadInputError(f"unknown export format '{fmt or out.suffix}'", "pass --format csv or --format gpkg")
    df = load_matchups(data_dir, name, horizon=horizon)
    out.parent.mkdir(parents=True, exist_ok=True)
    plain = _plain(df)
    with atomic_path(out) as tmp:  # the temporary name keeps the suffix GDAL checks for .gpkg
        if fmt == "csv":
            table = pd.DataFrame(plain.drop(columns="geometry"))
            for col, values in (("lat", df.geometry.y), ("lon", df.geometry.x)):
                if col not in table:  # match-ups carry the sample's lon/lat already; the geometry is the same point
                    table.insert(0, col, values.to_numpy())
            table.to_csv(tmp, index=False)
        else:
            plain.to_crs("EPSG:4326").to_file(tmp, driver="GPKG", layer=name, engine="pyogrio")
    return out, len(df)
