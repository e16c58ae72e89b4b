"""Leakage-safe train/val/test splits (docs/features.md, "Splits").

Four ways to assign a split, then one rule that removes leaks:

* **season** — whole seasons (calendar years): ``test_seasons`` (default: the last season of the
  samples), ``val_seasons`` (default: the one before), every other season train. A model is
  scored on a season it never saw, the question a multi-year record can answer.
* **auto** (default) — ``season`` when the samples cover at least :data:`MIN_SEASONS` seasons,
  else ``period``: one season cannot be split by seasons, and with two a season split would
  leave a single training season.

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
  permutation of the ``station``-kind stations (a user CSV's sites, kind ``user``, count as
  stations): 20 % test, 20 % val (at least one each). Other
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
MIN_SEASONS = 3
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
        return season_split(
            d.astype(np.int64), {int(uniq[-1].astype(int)) + 1970: "test", int(uniq[-2].astype(int)) + 1970: "val"}
        )
    doy = (d - years.astype("datetime64[D]")).astype(np.int64)
    k = doy // block_days
    return np.array([PATTERN[int(i) % len(PATTERN)] for i in k.ravel()], dtype=object).reshape(d.shape)


def years_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number (days since 1970-01-01)."""
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[Y]").astype(int) + 1970


def resolve_split(name: str, sample_days: np.ndarray) -> str:
    """The split method actually used: ``auto`` becomes ``season`` (≥ 3 seasons) or ``period``."""
    if name != "auto":
        return name
    return "season" if np.unique(years_of(sample_days)).size >= MIN_SEASONS else "period"


def season_roles(
    sample_days: np.ndarray,
    val_seasons: list[int] | tuple[int, ...] = (),
    test_seasons: list[int] | tuple[int, ...] = (),
) -> dict[int, str]:
    """Split of every season of the samples: the named ones, else last → test, the one before → val.

    Raises :class:`BadInputError` for a named season without samples, a season named twice, or
    fewer than :data:`MIN_SEASONS` seasons when none are named.
    """
    seasons = sorted(int(y) for y in np.unique(years_of(sample_days)))
    test, val = [int(y) for y in test_seasons], [int(y) for y in val_seasons]
    if not test and not val and len(seasons) < MIN_SEASONS:
        raise BadInputError(
            f"a season split needs ≥ {MIN_SEASONS} seasons, the samples cover {len(seasons)} "
            f"({', '.join(map(str, seasons))})",
            "use split: period (or name val_seasons/test_seasons)",
        )
    unknown = sorted(set(test + val) - set(seasons))
    if unknown:
        raise BadInputError(
            f"season(s) {unknown} have no samples to join", f"pick from: {', '.join(map(str, seasons))}"
        )
    both = sorted(set(test) & set(val))
    if both:
        raise BadInputError(f"season(s) {both} are both test and val", "name each season once")
    if not test:
        test = [y for y in reversed(seasons) if y not in val][:1]
    if not val:
        val = [y for y in reversed(seasons) if y not in test][:1]
    roles = {y: "test" if y in test else "val" if y in val else "train" for y in seasons}
    if "train" not in roles.values():
        raise BadInputError(f"no training season is left (val {val}, test {test})", "name fewer val/test seasons")
    return roles


def season_split(days: np.ndarray, roles: dict[int, str]) -> np.ndarray:
    """Split of each day number under per-season ``roles`` (seasons without a role: train)."""
    y = years_of(days)
    return np.array([roles.get(int(v), "train") for v in y.ravel()], dtype=object).reshape(y.shape)


def day_splits(
    days: np.ndarray,
    sample_days: np.ndarray,
    method: str,
    *,
    block_days: int = 14,
    period_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    val_seasons: list[int] | tuple[int, ...] = (),
    test_seasons: list[int] | tuple[int, ...] = (),
) -> np.ndarray:
    """Split of each day number for the date-based methods (``time``, ``period``, ``season``, ``auto``).

    ``sample_days`` (the labelled samples' days) fix the period bounds and the seasons, so
    samples and unlabeled chips of one store are split by the same rule.
    """
    method = resolve_split(method, sample_days)
    if method == "time":
        return time_split(days, block_days)
    if method == "period":
        return period_split(days, period_bounds(sample_days, period_fractions))
    if method == "season":
        return season_split(days, season_roles(sample_days, val_seasons, test_seasons))
    raise ValueError(f"{method!r} is not a date-based split")


def season_fold_splits(dates: np.ndarray, held_out: int, buffer_days: float = 0.0) -> np.ndarray:
    """Leave-one-season-out: the split of each labelled row in the fold that holds ``held_out`` out.

    The held-out season is test; the most recent *other* season is val (early stopping and
    hyperparameter choice never see the held-out season); the rest train. Rows of other
    seasons within ``buffer_days`` of a held-out row's date (conservatively, whatever their
    place) become ``excluded``, as the buffer rule would do for a season split.
    """
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    years = years_of(days)
    seasons = sorted(int(y) for y in np.unique(years))
    if held_out not in seasons:
        raise BadInputError(f"season {held_out} has no labelled rows", f"pick from: {', '.join(map(str, seasons))}")
    others = [y for y in seasons if y != held_out]
    if len(others) < 2:
        raise BadInputError(
            f"leave-one-season-out needs ≥ {MIN_SEASONS} seasons, the store has {len(seasons)}",
            "evaluate without cv (or join more seasons)",
        )
    out = np.full(days.shape, "train", dtype=object)
    out[years == others[-1]] = "val"
    test = years == held_out
    out[test] = "test"
    if buffer_days > 0 and test.any():
        t = np.sort(np.unique(days[test]))
        pos = np.clip(np.searchsorted(t, days), 0, t.size - 1)
        near = np.minimum(np.abs(days - t[pos]), np.abs(days - t[np.maximum(pos - 1, 0)])) <= buffer_days
        out[near & ~test] = "excluded"
    return out


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
        return cls(
            b[:, 0],
            b[:, 1],
            b[:, 2],
            b[:, 3],
            np.asarray(t0, float),
            np.asarray(t1, float),
            np.array([RANK[str(s)] for s in splits], dtype=np.int64),
        )

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
            a = cand[s : s + block]
            hit = np.zeros(a.size, bool)
            for u in range(0, prot.size, block):
                hit |= _near(it, a, prot[u : u + block], buffer_m, buffer_days).any(axis=1)
            excluded[a[hit]] = True
    return excluded


def find_leaks(it: Items, buffer_m: float = 0.0, buffer_days: float = 0.0, block: int = 2048) -> list[tuple[int, int]]:
    """Pairs (i, j) of items in different splits that are near in space and time (should be [])."""
    pairs: list[tuple[int, int]] = []
    idx = np.arange(len(it))
    for s in range(0, idx.size, block):
        a = idx[s : s + block]
        near = _near(it, a, idx, buffer_m, buffer_days) & (it.rank[a, None] != it.rank[None, :])
        ii, jj = np.nonzero(near)
        pairs += [(int(a[i]), int(j)) for i, j in zip(ii, jj, strict=True) if a[i] < j]
    return pairs
