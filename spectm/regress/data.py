"""The labelled rows a regression model sees: match-ups of one horizon, split, subsampled.

Everything that removes a row is counted (``RowCounts``) and reported by the caller: rows
of the ``excluded`` split, rows without a chip (unusable for the spectm models; with
``rows: chips`` unused by every model so all models score the same samples), rows with a
missing feature (baselines) and rows without a label.

Label fractions are *nested*: for one seed the train rows are put in one seeded random order
(rows first sorted by ``sample_id``, so the order does not depend on the table's row order),
and a fraction ``f`` takes the first ``ceil(f·n)`` of them — the 5 % subset is inside the
10 % subset, and so on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from spectm.errors import BadInputError, DataNotFoundError, SchemaError
from spectm.join.matchup import INDEX_COLUMNS
from spectm.join.store import CHIPS, MATCHUPS, _require


class NoChipsError(DataNotFoundError):
    """The train split has match-ups, but too few of them have a chip (a small lake, a short
    season): the spectm models cannot be fitted, the baselines can (on all match-ups)."""


SPECTRUM_RE = re.compile(r"^(rrs_[0-9.]+|refl_[A-Za-z0-9]+)$")
REQUIRED = ("sample_id", "station", "date", "horizon", "split", "label_log10", "chip_index")
MIN_TRAIN = 2


@dataclass
class RowCounts:
    """Why rows of one horizon were or were not used (reported in metrics.md and logs)."""

    matchups: int = 0
    excluded_split: int = 0
    no_label: int = 0
    no_chip: int = 0
    missing_features: int = 0
    by_split: dict[str, int] = field(default_factory=dict)
    n_train_total: int = 0
    n_train_used: int = 0

    def as_dict(self) -> dict[str, int | dict[str, int]]:
        return dict(self.__dict__)


@dataclass
class Rows:
    """Train (already subsampled), val and test rows of one horizon, plus the counts."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    counts: RowCounts
    feature_columns: list[str]


def feature_columns(df: pd.DataFrame) -> list[str]:
    """Spectrum columns (``rrs_<nm>`` / ``refl_<band>``, not ``_spread``) then the index columns present."""
    spec = [c for c in df.columns if SPECTRUM_RE.match(str(c))]
    return spec + [c for c in INDEX_COLUMNS if c in df.columns]


def load_table(data_dir: Path, features: str) -> pd.DataFrame:
    """The feature store's match-up table as a plain DataFrame (a copy), checked for the columns used here.

    Read with pandas (the geometry column is not needed) and cached per file path, size and
    modification time: the evaluation protocol calls ``fit_predict`` hundreds of times on one store.
    """
    path = _require(data_dir, features) / MATCHUPS
    st = path.stat()
    return _read_table(str(path.resolve()), st.st_size, st.st_mtime_ns, features).copy()


@lru_cache(maxsize=4)
def _read_table(path: str, size: int, mtime_ns: int, features: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    names = [c for c in pq.read_schema(path).names if c != "geometry"]
    df = pd.read_parquet(path, columns=names)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SchemaError(
            f"features/{features}/matchups.parquet lacks columns {missing}",
            f"rebuild it with `spectm join --name {features} --force`",
        )
    df["date"] = pd.to_datetime(df["date"])
    df["sample_id"] = df["sample_id"].astype(str)
    df["station"] = df["station"].astype(str)
    return df


def label_fraction_subset(train: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The first ``ceil(fraction·n)`` (at least 2) rows of a seeded order: nested across fractions."""
    if not 0 < fraction <= 1:
        raise BadInputError(f"label_fraction {fraction} is outside (0, 1]", "use e.g. 0.05, 0.1, 0.25, 0.5 or 1")
    ordered = train.sort_values("sample_id", kind="stable").reset_index(drop=True)
    n = len(ordered)
    perm = np.random.default_rng([seed, 8]).permutation(n)
    k = min(n, max(MIN_TRAIN, math.ceil(fraction * n - 1e-9)))
    return ordered.iloc[np.sort(perm[:k])].reset_index(drop=True)


def select_rows(
    df: pd.DataFrame, *, horizon: str, seed: int, label_fraction: float, need_chip: bool, need_features: bool
) -> Rows:
    """Rows of ``horizon`` for training/selection/testing, with every removal counted."""
    if horizon not in ("current", "ahead"):
        raise BadInputError(f"unknown horizon '{horizon}'", "use current or ahead")
    h = df[df["horizon"] == horizon].reset_index(drop=True)
    counts = RowCounts(matchups=len(h))
    if h.empty:
        raise DataNotFoundError(
            f"the feature store has no '{horizon}' match-ups", "check the join's counts (`spectm features show`)"
        )
    keep = np.array(h["split"].isin(["train", "val", "test"]), dtype=bool)
    counts.excluded_split = int((~keep).sum())
    lab = np.isfinite(h["label_log10"].to_numpy(float))
    counts.no_label = int((keep & ~lab).sum())
    keep &= lab
    chip = h["chip_index"].to_numpy(np.int64) >= 0
    counts.no_chip = int((keep & ~chip).sum())
    keep_no_chip = keep.copy()  # the rows a chip-free model could use (for NoChipsError)
    if need_chip:
        keep &= chip
    cols = feature_columns(h)
    if need_features:
        if not cols:
            raise SchemaError(
                "the match-up table has no spectrum or index columns",
                "rebuild the feature store with `spectm join --force`",
            )
        full = np.isfinite(h[cols].to_numpy(np.float64)).all(axis=1)
        counts.missing_features = int((keep & ~full).sum())
        keep &= full
        keep_no_chip &= full
    h_all = h
    h = h[keep].reset_index(drop=True)
    counts.by_split = {s: int((h["split"] == s).sum()) for s in ("train", "val", "test")}
    train = h[h["split"] == "train"]
    counts.n_train_total = len(train)
    if len(train) < MIN_TRAIN and need_chip:
        n_any = int((np.array(h_all["split"] == "train") & keep_no_chip).sum())
        if n_any >= MIN_TRAIN:
            raise NoChipsError(
                f"the '{horizon}' train split has {n_any} match-ups but {len(train)} with a chip",
                "join with a smaller --chip-size or --min-valid, or a longer season",
            )
    if len(train) < MIN_TRAIN:
        raise DataNotFoundError(
            f"only {len(train)} usable '{horizon}' train rows (counts: {counts.as_dict()})",
            "join more samples or a longer season",
        )
    train = label_fraction_subset(train, label_fraction, seed)
    counts.n_train_used = len(train)
    val = h[h["split"] == "val"].sort_values("sample_id", kind="stable").reset_index(drop=True)
    test = h[h["split"] == "test"].sort_values("sample_id", kind="stable").reset_index(drop=True)
    return Rows(train, val, test, counts, cols)


def load_chip_rows(
    data_dir: Path, features: str, chip_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(chips (N,T,C,H,W) float32, days (N,T), wavelengths (C,), attrs) for the given store rows.

    The store's match-up chips (every ``chip_index`` of the match-up table) are read once and
    cached per store (path, modification time of its metadata): repeated fits read no chips.
    """
    d = _require(data_dir, features)
    meta = d / CHIPS / "zarr.json"
    table = d / MATCHUPS
    cache = _matchup_chips(
        str((d / CHIPS).resolve()), meta.stat().st_mtime_ns, str(table.resolve()), table.stat().st_mtime_ns
    )
    rows, chips, days, wl, attrs, n_store = cache
    idx = np.asarray(chip_index, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_store):
        raise SchemaError(
            f"chip_index out of range for features/{features}/chips.zarr",
            f"rebuild the store with `spectm join --name {features} --force`",
        )
    pos = np.searchsorted(rows, idx)
    if idx.size and not np.array_equal(rows[np.minimum(pos, rows.size - 1)], idx):
        raise SchemaError(
            "chip_index names chips that are not match-up chips of the table",
            f"rebuild the store with `spectm join --name {features} --force`",
        )
    return chips[pos], days[pos], wl, dict(attrs)


@lru_cache(maxsize=2)
def _matchup_chips(chips_path: str, meta_mtime: int, table_path: str, table_mtime: int) -> tuple:
    import xarray as xr

    names = pd.read_parquet(table_path, columns=["chip_index"])["chip_index"].to_numpy(np.int64)
    rows = np.unique(names[names >= 0])
    ds = xr.open_zarr(chips_path, consolidated=False, zarr_format=3)
    chips = np.asarray(ds["chips"].isel(chip=rows).values, dtype=np.float32)
    dates = ds["chip_date"].isel(chip=rows).values.astype("datetime64[ns]")
    days = ((dates - dates[:, -1:]) / np.timedelta64(1, "D")).astype(np.float32)
    wl = ds["wavelength"].values.astype(np.float32)
    chips.setflags(write=False)
    days.setflags(write=False)
    return rows, chips, days, wl, {"sensor": str(ds.attrs.get("sensor", "pace"))}, int(ds.sizes["chip"])
