"""Leakage-safe train/val/test splits (DOMAIN §8 pain point 13).

Three ways to assign a split, then one rule that removes leaks:

* **time** — calendar blocks of ``block_days`` counted from 1 January of each year; block *k*
  of a year goes to ``PATTERN[k % 5]`` = train, train, val, train, test (60/20/20 over a season,
  interleaved so every split sees early, peak and late bloom). ``block_days = 0``: whole
  seasons (years): the last year is test, the one before val, the rest train.
* **period** (default) — within each season (calendar year) the sampling days, in order, are
  cut into contiguous train → val → test periods by ``period_fractions`` (0.6/0.2/0.2 of the
  season's sampling days): "train on the early season, tune on the next weeks, test on the
  last". Unlabeled chips take the period of their last step's date (before the season's first
  sample: train; a year without samples: train). Why this default: samples are weekly at every
  station on the same day and the ahead horizon spans 8 days, so every boundary between splits
  costs about ten days of match-ups under the buffer rule. Interleaved 14-day blocks have ~4
  boundaries per season; on the 2024 twin season they left 25 of 230 match-up rows in train
  (measured), where contiguous periods, with 2 boundaries, keep most of the 60 %.
* **station** — named ``test_stations``/``val_stations``, or, when none are named, a seeded
  permutation of the ``station``-kind stations: 20 % test, 20 % val (at least one each). Other
  sample sites are train. Unlabeled chips take the split of the nearest station.

**The buffer rule.** Every item (a chip, or a match-up's pixel window with its observation
and sample dates) has a footprint box and a time interval. An item is **excluded** when its
box comes closer than ``buffer_km`` to the box of a kept item of a *later* split (train <
val < test) and their time intervals, widened by ``buffer_days``, overlap. Test is decided
first, then val, then train. So no pixel of a test (or val) item at a test date, nor anything
within the buffer, is in training; :func:`find_leaks` checks a finished store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectm.errors import BadInputError

SPLITS = ("train", "val", "test")
RANK = {s: i for i, s in enumerate(SPLITS)}
PATTERN = ("train", "train", "val", "train", "test")


def time_split(days: np.ndarray, block_days: int) -> np.ndarray:
    """Split of each local day number (days since 1970-01-01)."""
    d = np.asarray(days, dtype="datetime64[D]")
    years = d.astype("datetime64[Y]")
    if block_days == 0:
        uniq = np.unique(years)
        if uniq.size < 3:
            raise BadInputError(
                f"season blocks need ≥ 3 seasons, the data has {uniq.size}",
                "use --split time with block_days > 0 (e.g. 14), or --split station",
            )
        out = np.full(d.shape, "train", dtype=object)
        out[years == uniq[-1]] = "test"
        out[years == uniq[-2]] = "val"
        return out
    doy = (d - years.astype("datetime64[D]")).astype(np.int64)
    k = doy // block_days
    return np.array([PATTERN[int(i) % len(PATTERN)] for i in k.ravel()], dtype=object).reshape(d.shape)


def period_bounds(sample_days: np.ndarray, fractions: tuple[float, float, float]) -> dict[int, tuple[int, int]]:
    """Per year: (first val day, first test day) from the sorted unique sampling days.

    With ``n`` sampling days in a season, the first ``round(f_train·n)`` go to train and the
    next ``round(f_val·n)`` to val (each split keeps at least one day when ``n`` ≥ 3).
    """
    d = np.asarray(sample_days, dtype="datetime64[D]")
    years = d.astype("datetime64[Y]").astype(int) + 1970
    f_train, f_val, _ = fractions
    out: dict[int, tuple[int, int]] = {}
    for y in np.unique(years):
        days = np.unique(d[years == y].astype(np.int64))
        n = days.size
        if n < 3:
            out[int(y)] = (int(days[-1]) + 1, int(days[-1]) + 1)  # too few sampling days: all train
            continue
        n_train = min(max(1, round(f_train * n)), n - 2)
        n_val = min(max(1, round(f_val * n)), n - n_train - 1)
        out[int(y)] = (int(days[n_train]), int(days[n_train + n_val]))
    return out


def period_split(days: np.ndarray, bounds: dict[int, tuple[int, int]]) -> np.ndarray:
    """Split of each day number under per-year ``bounds`` (years without bounds: train)."""
    d = np.asarray(days, dtype="datetime64[D]")
    years = d.astype("datetime64[Y]").astype(int) + 1970
    n = d.astype(np.int64)
    out = np.full(d.shape, "train", dtype=object)
    for y, (v0, t0) in bounds.items():
        sel = years == y
        out[sel & (n >= v0)] = "val"
        out[sel & (n >= t0)] = "test"
    return out


def station_assignment(stations: list[str], test: list[str], val: list[str], seed: int) -> dict[str, str]:
    """Split of each station: the named ones, or a seeded 20/20 % draw."""
    uniq = sorted(set(stations))
    if test or val:
        unknown = sorted(set(test + val) - set(uniq))
        if unknown:
            raise BadInputError(f"station(s) {unknown} have no samples to join", f"pick from: {', '.join(uniq)}")
        both = set(test) & set(val)
        if both:
            raise BadInputError(f"station(s) {sorted(both)} are both test and val", "name each station once")
        return {s: "test" if s in test else "val" if s in val else "train" for s in uniq}
    if len(uniq) < 3:
        raise BadInputError(f"a station split needs ≥ 3 stations, the samples have {len(uniq)}", "use --split time")
    perm = [uniq[i] for i in np.random.default_rng(seed).permutation(len(uniq))]
    n = max(1, round(0.2 * len(uniq)))
    return {s: "test" if j < n else "val" if j < 2 * n else "train" for j, s in enumerate(perm)}


@dataclass
class Items:
    """Footprints (metres) and time spans (day numbers) of things that carry a split."""

    xmin: np.ndarray
    ymin: np.ndarray
    xmax: np.ndarray
    ymax: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    rank: np.ndarray

    @classmethod
    def build(cls, boxes: np.ndarray, t0: np.ndarray, t1: np.ndarray, splits: np.ndarray) -> Items:
        b = np.asarray(boxes, float).reshape(-1, 4)
        return cls(b[:, 0], b[:, 1], b[:, 2], b[:, 3], np.asarray(t0, float), np.asarray(t1, float),
                   np.array([RANK[str(s)] for s in splits], dtype=np.int64))

    def __len__(self) -> int:
        return int(self.rank.size)


def _near(it: Items, a: np.ndarray, b: np.ndarray, buffer_m: float, buffer_days: float) -> np.ndarray:
    """(len(a), len(b)) bool: boxes closer than ``buffer_m`` (overlap when 0) and times within
    ``buffer_days`` (inclusive)."""
    sx = (it.xmin[a, None] - buffer_m < it.xmax[None, b]) & (it.xmax[a, None] + buffer_m > it.xmin[None, b])
    sy = (it.ymin[a, None] - buffer_m < it.ymax[None, b]) & (it.ymax[a, None] + buffer_m > it.ymin[None, b])
    st = (it.t0[a, None] - buffer_days <= it.t1[None, b]) & (it.t1[a, None] + buffer_days >= it.t0[None, b])
    return sx & sy & st


def exclude_leaks(it: Items, buffer_m: float, buffer_days: float, block: int = 2048) -> np.ndarray:
    """Bool mask of items to exclude under the buffer rule (module docstring)."""
    excluded = np.zeros(len(it), bool)
    for r in (RANK["val"], RANK["train"]):
        cand = np.flatnonzero(it.rank == r)
        prot = np.flatnonzero((it.rank > r) & ~excluded)
        if cand.size == 0 or prot.size == 0:
            continue
        for s in range(0, cand.size, block):
            a = cand[s:s + block]
            hit = np.zeros(a.size, bool)
            for u in range(0, prot.size, block):
                hit |= _near(it, a, prot[u:u + block], buffer_m, buffer_days).any(axis=1)
            excluded[a[hit]] = True
    return excluded


def find_leaks(it: Items, buffer_m: float = 0.0, buffer_days: float = 0.0, block: int = 2048) -> list[tuple[int, int]]:
    """Pairs (i, j) of items in different splits that are near in space and time (should be [])."""
    pairs: list[tuple[int, int]] = []
    idx = np.arange(len(it))
    for s in range(0, idx.size, block):
        a = idx[s:s + block]
        near = _near(it, a, idx, buffer_m, buffer_days) & (it.rank[a, None] != it.rank[None, :])
        ii, jj = np.nonzero(near)
        pairs += [(int(a[i]), int(j)) for i, j in zip(ii, jj, strict=True) if a[i] < j]
    return pairs
