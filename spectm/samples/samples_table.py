"""The samples table as stored: stable sample ids, a fixed column order and dtypes.

A sample id is ``<station>_<yyyymmdd>_<depth category>`` (``_2``, ``_3`` … for repeats of
the same station, date and depth), so ids do not change when other files are added.
"""

from __future__ import annotations

import pandas as pd

from spectm.samples.schemas import VARIABLES

COLUMNS = (
    "sample_id",
    "station",
    "station_kind",
    "time_utc",
    "date",
    "lat",
    "lon",
    "depth_category",
    "sample_depth_m",
    "station_depth_m",
    *(f"{v}{suffix}" for v in VARIABLES for suffix in ("", "_censored", "_lod")),
    "flags",
    "source_file",
    "source_row",
)
"""The stored table's columns, in order."""


def finish_table(df: pd.DataFrame) -> pd.DataFrame:
    """Order rows and columns, assign stable sample ids, fix dtypes."""
    df = df.sort_values(["date", "station", "depth_category", "source_file", "source_row"], kind="stable")
    df = df.reset_index(drop=True)
    base = (
        df["station"].str.replace(r"\s+", "", regex=True)
        + "_"
        + df["date"].str.replace("-", "", regex=False)
        + "_"
        + df["depth_category"]
    )
    n = base.groupby(base).cumcount()
    df.insert(0, "sample_id", base.where(n == 0, base + "_" + (n + 1).astype(str)))
    df = df[list(COLUMNS)]
    for c in [
        "lat",
        "lon",
        "sample_depth_m",
        "station_depth_m",
        *VARIABLES,
        *(f"{v}_lod" for v in VARIABLES),
    ]:
        df[c] = df[c].astype("float64")
    for v in VARIABLES:
        df[f"{v}_censored"] = df[f"{v}_censored"].astype(bool)
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    df["source_row"] = df["source_row"].astype("int64")
    for c in (
        "sample_id",
        "station",
        "station_kind",
        "date",
        "depth_category",
        "flags",
        "source_file",
    ):
        df[c] = df[c].astype(str)
    return df


__all__ = ["COLUMNS", "finish_table"]
