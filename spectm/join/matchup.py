"""Match-ups: for every sample and horizon, the cube slice and pixel window that observe it.

**Days are local calendar days** in the region's time zone (America/New_York for Lake Erie):
a sample's ``date`` is its local date, a slice's local date is its overpass time (UTC)
converted to that zone. The *day offset* of a slice is its local date minus the target day.

* ``current`` horizon — target day = the sample's date; slices with ``|offset| ≤ time_window_days``;
* ``ahead`` horizon (8-day-ahead) — target day = the sample's date − ``lead_days``; slices with
  ``|offset| ≤ time_window_days`` around that day, i.e. imagery 8 ± w days *before* the sample,
  used to predict the sample's value.

Among the candidate slices the first, in order of (|offset|, −valid fraction, time), whose
window reaches ``min_valid_fraction`` is the match-up. A sample with no usable slice gets one
reason, checked in this order: ``outside_period`` (the cube cannot cover it for any horizon),
``no_label``, ``outside_grid``, ``land`` (its cell is not water), ``edge`` (the window reaches past
the grid), ``no_overpass`` (no slice within the window), ``cloud`` (every window pixel masked in
every candidate slice), ``too_few_valid`` (some valid pixels, never enough).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from spectm import indices as ix
from spectm.config import JoinSection
from spectm.join.inputs import Cube
from spectm.join.window import aggregate_pixels, valid_pixels

HORIZONS = ("current", "ahead")
REASONS = ("outside_period", "no_label", "outside_grid", "land", "edge", "no_overpass", "cloud", "too_few_valid")
LABEL_EXTRA = ("pmc_ugL", "dmc_ugL", "chla_ugL", "pc_ugL")
SAMPLE_COLUMNS = ("sample_id", "station", "station_kind", "date", "lat", "lon", "depth_category", "flags")


# Index columns the join writes, per sensor (S2 lacks the 620/681 nm bands of CI and SS665).
SENSOR_INDICES: dict[str, tuple[str, ...]] = {
    "pace": ("ci", "ss665", "ci_cyano", "ndci", "chl_ndci", "pc_dekker"),
    "s2": ("ndci", "chl_ndci", "mci"),
}
INDEX_COLUMNS: tuple[str, ...] = ("ci", "ss665", "ci_cyano", "ndci", "chl_ndci", "pc_dekker", "mci")


class SliceReader:
    """Reads (band, y, x) boxes of one cube variable; small slices are read whole and cached."""

    def __init__(self, data: xr.DataArray, max_slice_bytes: int = 256 << 20, cache_slices: int = 4) -> None:
        self.data = data
        nb, ny, nx = data.shape[1:]
        self.whole = nb * ny * nx * 4 <= max_slice_bytes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._n = cache_slices

    def box(self, t: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        if not self.whole:
            return np.asarray(self.data.isel(time=t, y=slice(r0, r1), x=slice(c0, c1)).values, dtype=np.float32)
        if t not in self._cache:
            self._cache[t] = np.asarray(self.data.isel(time=t).values, dtype=np.float32)
            if len(self._cache) > self._n:
                self._cache.popitem(last=False)
        self._cache.move_to_end(t)
        return self._cache[t][:, r0:r1, c0:c1]


# --------------------------------------------------------------------------- indices


def index_functions(sensor: str, wl: np.ndarray) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The bio-optical indices (docs/bio-optics.md § Indices) this sensor's bands support, from spectm.indices.

    PACE: ``ci``, ``ss665``, ``ci_cyano``, ``ndci``, ``chl_ndci`` (Mishra & Mishra Chl proxy, µg/L)
    and ``pc_dekker`` (phycocyanin proxy; 588/613 nm stand in for 600 nm, tolerance 13 nm);
    SS665 > 0 is the phycocyanin sign. S2: ``ndci``, ``chl_ndci`` and ``mci`` (no 620/681 nm bands).
    """
    cands: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "ci": lambda r: ix.ci(r, wl),
        "ss665": lambda r: ix.ss665(r, wl),
        "ci_cyano": lambda r: ix.ci_cyano(r, wl),
        "ndci": lambda r: ix.ndci(r, wl),
        "chl_ndci": lambda r: ix.ndci_chl(ix.ndci(r, wl)),
        "mci": lambda r: ix.mci(r, wl),
        "pc_dekker": lambda r: ix.dekker_pc(r, wl, tolerance_nm=13.0),
    }
    wanted = SENSOR_INDICES[sensor]
    probe = np.full((1, wl.size), 0.01)
    out = {}
    for name in wanted:
        try:
            cands[name](probe)
        except ix.IndexUnavailableError:
            continue
        out[name] = cands[name]
    return out


# --------------------------------------------------------------------------- matching


@dataclass
class MatchOutcome:
    rows: list[dict] = field(default_factory=list)  # matched
    unmatched: list[dict] = field(default_factory=list)


def sample_times(df: pd.DataFrame, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local day numbers, UTC times as naive datetime64[ns], time_assumed). A missing time
    (scum rows often lack one) is taken as local noon of the sample's date."""
    day = pd.to_datetime(df["date"].astype(str), errors="coerce")
    days = day.values.astype("datetime64[D]").astype(np.int64)
    t = pd.to_datetime(df["time_utc"], utc=True, errors="coerce")
    noon = (
        (day + pd.Timedelta(hours=12))
        .dt.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        .dt.tz_convert("UTC")
    )
    assumed = t.isna().to_numpy()
    t = t.where(~t.isna(), noon).dt.tz_localize(None)
    bad = day.isna().to_numpy()
    days = np.where(bad, np.iinfo(np.int64).min // 2, days)
    return days, t.values.astype("datetime64[ns]"), assumed


def has_label(df: pd.DataFrame, label: str) -> np.ndarray:
    v = df[label].to_numpy(dtype=float)
    cens = (
        df[f"{label}_censored"].fillna(False).to_numpy(bool) if f"{label}_censored" in df else np.zeros(len(df), bool)
    )
    return np.isfinite(v) | cens


def label_log10(df: pd.DataFrame, label: str) -> np.ndarray:
    """log10 of the label with censored values at LOD/√2 (docs/glerl.md § Tokens, detection limits and dirty values)."""
    v = df[label].to_numpy(dtype=float).copy()
    if f"{label}_censored" in df:
        c = df[f"{label}_censored"].fillna(False).to_numpy(bool)
        lod = df[f"{label}_lod"].to_numpy(dtype=float) if f"{label}_lod" in df else v
        v[c] = np.where(np.isfinite(lod[c]), lod[c], v[c]) / np.sqrt(2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, np.log10(v), np.nan)


@dataclass
class SamplePlaces:
    """Where and when each sample is on the cube, and the reason (horizon-independent) it
    cannot be matched at all: ``(None, "")`` when it may."""

    days: np.ndarray  # local day numbers
    t_utc: np.ndarray
    assumed: np.ndarray
    px: np.ndarray
    py: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    pre: list[tuple[str | None, str]]


def place_samples(cube: Cube, df: pd.DataFrame, p: JoinSection) -> SamplePlaces:
    """The samples on the cube's grid and calendar, and each one's precheck (shared by the
    join and its dry run)."""
    grid = cube.grid
    days, t_utc, assumed = sample_times(df, cube.timezone)
    px, py = cube.to_grid(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    rows, cols, inside = grid.locate(px, py)
    labelled = has_label(df, p.label)
    ldays = cube.local_days
    first = ldays.min() if ldays.size else 0
    last = ldays.max() if ldays.size else -1
    pre = [
        _precheck(
            days[i],
            first,
            last,
            p.time_window_days,
            p.lead_days,
            labelled[i],
            inside[i],
            cube.water[rows[i], cols[i]] if inside[i] else False,
            grid.window_bounds(int(rows[i]), int(cols[i]), p.pixel_window) if inside[i] else None,
        )
        for i in range(len(df))
    ]
    return SamplePlaces(days, t_utc, assumed, px, py, rows, cols, pre)


def match_samples(cube: Cube, df: pd.DataFrame, p: JoinSection, reader: SliceReader) -> MatchOutcome:
    """Match every sample in ``df`` for both horizons (see the module docstring)."""
    out = MatchOutcome()
    grid = cube.grid
    at = place_samples(cube, df, p)
    days, t_utc, assumed, px, py, rows, cols = at.days, at.t_utc, at.assumed, at.px, at.py, at.rows, at.cols
    logl = label_log10(df, p.label)
    fns = index_functions(cube.sensor, cube.wavelengths)
    ldays = cube.local_days
    w = p.time_window_days
    prefix = "rrs" if cube.sensor == "pace" else "refl"
    for i in range(len(df)):
        base = {c: df[c].iat[i] for c in SAMPLE_COLUMNS if c in df}
        for horizon in HORIZONS:
            target = days[i] - (p.lead_days if horizon == "ahead" else 0)
            reason, detail = at.pre[i]
            cand = np.flatnonzero(np.abs(ldays - target) <= w) if reason is None else np.zeros(0, int)
            if reason is None and cand.size == 0:
                reason, detail = "no_overpass", f"no {cube.sensor} slice within ±{w} d of {_day_str(target)}"
            best = None
            if reason is None:
                r0, r1, c0, c1 = grid.window_bounds(int(rows[i]), int(cols[i]), p.pixel_window)  # type: ignore[misc]
                scored = []
                for t in cand:
                    block = reader.box(int(t), r0, r1, c0, c1)
                    ok = valid_pixels(block)
                    scored.append((abs(int(ldays[t] - target)), -ok.mean(), int(t), block, ok))
                scored.sort(key=lambda s: s[:3])
                best = next((s for s in scored if -s[1] >= p.min_valid_fraction), None)
                if best is None:
                    top = max(-s[1] for s in scored)
                    reason = "cloud" if top == 0 else "too_few_valid"
                    detail = f"{len(scored)} slice(s); best valid fraction {top:.2f} < {p.min_valid_fraction:g}"
            if reason is not None:
                out.unmatched.append(
                    {
                        **{k: base.get(k) for k in ("sample_id", "station", "date")},
                        "horizon": horizon,
                        "reason": reason,
                        "detail": detail,
                    }
                )
                continue
            assert best is not None
            _, negf, t, block, ok = best
            row = dict(base)
            row.update(_labels(df, i, p.label))
            row["label_log10"] = float(logl[i])
            obs_t = cube.times[t]
            dt_h = float((obs_t - t_utc[i]) / np.timedelta64(1, "s")) / 3600.0
            r, c = int(rows[i]), int(cols[i])
            cx, cy = grid.centre(r, c)
            vr, vc = np.nonzero(ok)
            vx = grid.x[c0 + vc]
            vy = grid.y[r0 + vr]
            row.update(
                {
                    "sensor": cube.sensor,
                    "horizon": horizon,
                    "time_utc": pd.Timestamp(t_utc[i]),
                    "time_assumed": bool(assumed[i]),
                    "obs_time": pd.Timestamp(obs_t),
                    "obs_date": _day_str(int(ldays[t])),
                    "obs_index": t,
                    "obs_source_ids": str(cube.ds["source_ids"].values[t]) if "source_ids" in cube.ds else "",
                    "day_offset": int(ldays[t] - days[i]),
                    "dt_hours": dt_h,
                    "abs_dt_hours": abs(dt_h),
                    "x": float(px[i]),
                    "y": float(py[i]),
                    "row": r,
                    "col": c,
                    "dist_m": float(np.hypot(cx - px[i], cy - py[i])),
                    "dist_valid_m": float(np.min(np.hypot(vx - px[i], vy - py[i]))),
                    "pixel_window": p.pixel_window,
                    "n_window": int(ok.size),
                    "n_valid": int(ok.sum()),
                    "valid_fraction": float(-negf),
                    "aggregation": p.aggregation,
                }
            )
            pix = block[:, ok].T.astype(np.float64)  # (n_valid, band)
            val, spr = aggregate_pixels(pix, p.aggregation)
            for k, name in enumerate(cube.band_names):
                row[f"{prefix}_{name}"] = float(val[k])
            for k, name in enumerate(cube.band_names):
                row[f"{prefix}_{name}_spread"] = float(spr[k])
            with np.errstate(divide="ignore", invalid="ignore"):
                for name, fn in fns.items():
                    vals = np.asarray(fn(pix), dtype=np.float64)
                    fin = vals[np.isfinite(vals)]
                    if fin.size:
                        v, s = aggregate_pixels(fin[:, None], p.aggregation)
                        row[name], row[f"{name}_spread"] = float(v[0]), float(s[0])
                    else:
                        row[name], row[f"{name}_spread"] = np.nan, np.nan
            out.rows.append(row)
    return out


def _precheck(
    day: int, first: int, last: int, w: int, lead: int, labelled: bool, inside: bool, water: bool, bounds: tuple | None
) -> tuple[str | None, str]:
    if day < first - w or day > last + lead + w:
        return "outside_period", f"sample {_day_str(day)} vs cube {_day_str(first)}..{_day_str(last)}"
    if not labelled:
        return "no_label", "label missing (not measured)"
    if not inside:
        return "outside_grid", "sample position outside the cube grid"
    if not water:
        return "land", "sample cell is not water"
    if bounds is None:
        return "edge", "pixel window reaches past the grid edge"
    return None, ""


def _labels(df: pd.DataFrame, i: int, label: str) -> dict:
    out = {}
    for var in dict.fromkeys((label, *LABEL_EXTRA)):
        for col in (var, f"{var}_censored", f"{var}_lod"):
            if col in df:
                v = df[col].iat[i]
                out[col] = bool(v) if col.endswith("_censored") and pd.notna(v) else v
    return out


def _day_str(day: int) -> str:
    return str(np.datetime64(int(day), "D")) if abs(int(day)) < 10**7 else "unknown"
