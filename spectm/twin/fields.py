"""Constituent fields over the lake, day by day, from the measurements made so far.

Each constituent (Chl, PC, a_g(400), TSS) lives in log10 space on a regular lon/lat
"physics grid" (default 0.005°, ≈ 0.5 km). The evolution is *causal*: the field on day
*t* depends only on station measurements taken on or before *t*, like a forecast that
is corrected whenever the lake is sampled (an analysis cycle, as in data assimilation).
A model trained on the twin's imagery therefore cannot see a sample before it is taken.

    field(x, t) = prior(x, t) + D_k(x)·exp(−(t − t_k)/τ) + a(x, t)

* **prior** — the bloom climatology: a Chl/PC bloom that starts in Maumee Bay and
  spreads (its e-folding distance from the Maumee mouth grows from 8 km in early July
  to 53 km by September) with an August peak; CDOM and TSS decay away from the
  Maumee mouth. A region that does not reach the Maumee mouth (another lake) gets
  :func:`generic_prior` instead, at the levels of its own samples taken before the season.
* **D_k** — the deviation from the prior left by the last sampling day ``t_k ≤ t``; it
  relaxes toward the prior with e-folding time τ (default 10 days). Before the first
  sampling day it is a static Gaussian random field (6 km, SD 0.15 dex).
* **a** — the daily "weather" anomaly: an AR(1) process in time of Gaussian random
  fields (correlation 10 km, SD 0.12 dex, lag-1 correlation exp(−1/3), i.e. an
  e-folding time of 3 days), started on the model's first day.
* **analysis on a sampling day t_k** — the forecast of that day (with the decayed
  deviation plus fresh texture so its variance stays 0.15 dex) is corrected by simple
  kriging (Gaussian covariance, range 15 km, nugget 1e-6) of ``measurement − forecast``
  at the visit positions, so that at a station on a sampling day the field *equals* the
  measurement (to float32 precision; the tests check 1 %). The new deviation
  ``D_k = analysis − prior − a`` then decays until the next visit.

Everything is a deterministic function of ``seed``, the day and the measurements up to
that day (the random draws are seeded per day, not per position in a sequence). Memory
is one deviation field per sampling day and variable (a few MB per season); the anomaly
is advanced one day at a time and cached, so a season generated in day order costs four
FFT fields a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.ndimage import map_coordinates

from spectm.twin.drivers import LIMITS, MAUMEE_MOUTH, VARS, Drivers, season_weight
from spectm.twin.grf import gaussian_random_field

KM_PER_DEG_LAT = 111.2


@dataclass
class Grid:
    """A regular lon/lat grid (cell centres); row 0 is the south edge."""

    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def covering(cls, bbox: tuple[float, float, float, float], step_deg: float, margin_deg: float = 0.05) -> Grid:
        w, s, e, n = bbox
        lon = np.arange(w - margin_deg, e + margin_deg + step_deg / 2, step_deg)
        lat = np.arange(s - margin_deg, n + margin_deg + step_deg / 2, step_deg)
        return cls(lon, lat)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.lat.size, self.lon.size)

    def km_per_px(self) -> float:
        return float((self.lat[1] - self.lat[0]) * KM_PER_DEG_LAT)

    def sample(self, field: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Bilinear values of ``field`` at points (edge values held outside)."""
        fy = (np.asarray(lat) - self.lat[0]) / (self.lat[1] - self.lat[0])
        fx = (np.asarray(lon) - self.lon[0]) / (self.lon[1] - self.lon[0])
        return map_coordinates(field, [fy.ravel(), fx.ravel()], order=1, mode="nearest").reshape(np.shape(lon))


def _dist_km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    kx = KM_PER_DEG_LAT * np.cos(np.radians(lat0))
    return np.hypot((lon - lon0) * kx, (lat - lat0) * KM_PER_DEG_LAT)


def prior_log10(var: str, lon: np.ndarray, lat: np.ndarray, day: date) -> np.ndarray:
    """The climatological log10 field of ``var`` (see the module docstring)."""
    doy = day.timetuple().tm_yday
    d = _dist_km(lon, lat, *MAUMEE_MOUTH)
    s = float(season_weight(doy))
    spread_km = 8.0 + 45.0 * float(np.clip((doy - 182) / 60.0, 0.0, 1.0))
    bloom = s * np.exp(-d / spread_km)
    if var == "chl":
        return np.log10(8.0) + 0.3 * np.clip(1 - d / 100.0, 0, 1) + 1.0 * bloom
    if var == "pc":
        return prior_log10("chl", lon, lat, day) + np.log10(0.08 + 0.5 * bloom)
    if var == "ag400":
        return np.log10(0.6) + 0.5 * np.exp(-d / 25.0)
    if var == "tss":
        return np.log10(6.0) + 0.6 * np.exp(-d / 20.0)
    raise KeyError(var)


PriorFn = Callable[[str, np.ndarray, np.ndarray, date], np.ndarray]
DEFAULT_LEVELS = {"chl": 10.0, "pc": 1.0, "ag400": 0.6, "tss": 6.0}  # Lake Erie's far-field prior levels


def generic_prior(levels: dict[str, float]) -> PriorFn:
    """A prior for a lake without a known bloom source: spatially uniform at ``levels`` (linear
    units, e.g. the median of the lake's own earlier samples), Chl and PC raised toward a
    mid-August peak (0.3 dex) as a temperate lake's bloom season is; structure comes from
    the random fields and the kriged measurements."""
    logs = {v: float(np.log10(levels.get(v, DEFAULT_LEVELS[v]))) for v in VARS}

    def prior(var: str, lon: np.ndarray, lat: np.ndarray, day: date) -> np.ndarray:
        base = np.full(np.shape(lon), logs[var], dtype=float)
        if var in ("chl", "pc"):
            base += 0.3 * (float(season_weight(day.timetuple().tm_yday)) - 0.5)
        return base

    return prior


def has_maumee(bbox: tuple[float, float, float, float], margin_deg: float = 0.2) -> bool:
    """Whether the region reaches the Maumee River mouth (the Lake Erie bloom prior applies)."""
    w, s, e, n = bbox
    lon, lat = MAUMEE_MOUTH
    return w - margin_deg <= lon <= e + margin_deg and s - margin_deg <= lat <= n + margin_deg


def _krige(
    px: np.ndarray,
    py: np.ndarray,
    resid: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    range_km: float,
) -> np.ndarray:
    """Simple kriging (zero mean) of residuals at points (km coords) onto grid points."""
    d_pp = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :])
    k = np.exp(-((d_pp / range_km) ** 2)) + 1e-6 * np.eye(px.size)
    wts = np.linalg.solve(k, resid)
    d_gp = np.hypot(gx[..., None] - px, gy[..., None] - py)
    return np.exp(-((d_gp / range_km) ** 2)) @ wts


class FieldModel:
    """Causal log10 constituent fields: relaxation from the last analysis plus a daily anomaly."""

    def __init__(
        self,
        drivers: Drivers,
        grid: Grid,
        seed: int,
        range_km: float = 15.0,
        *,
        start: date | None = None,
        relax_days: float = 10.0,
        anomaly_days: float = 3.0,
        prior: PriorFn | None = None,
    ) -> None:
        self.grid = grid
        self._prior: PriorFn = prior or prior_log10
        self.drivers = drivers
        self.seed = seed
        self.relax_days = relax_days
        self.sample_days: list[date] = drivers.dates
        first = self.sample_days[0] if self.sample_days else (start or date(2000, 1, 1))
        self.origin = min(start, first) if start is not None else first
        self._rho = float(np.exp(-1.0 / anomaly_days))
        glon, glat = np.meshgrid(grid.lon, grid.lat)
        self._glon, self._glat = glon, glat
        lat0 = float(np.mean(grid.lat))
        self._kx = KM_PER_DEG_LAT * np.cos(np.radians(lat0))
        self._gx, self._gy = glon * self._kx, glat * KM_PER_DEG_LAT
        self._range_km = range_km
        self._anom_t: int | None = None
        self._anom: dict[str, np.ndarray] = {}
        corr_px = 6.0 / grid.km_per_px()
        self._d0 = {
            var: 0.15 * gaussian_random_field(grid.shape, corr_px, np.random.default_rng([seed, 101, vi]))
            for vi, var in enumerate(VARS)
        }
        self._days: list[int] = []  # ordinals of the analyses, ascending
        self._dev: dict[str, list[np.ndarray]] = {var: [] for var in VARS}
        for day in self.sample_days:
            self._analyse(day)

    def _anomaly(self, t: int) -> dict[str, np.ndarray]:
        """a(t): AR(1) of unit Gaussian random fields from ``origin``, scaled to 0.12 dex."""
        t0 = self.origin.toordinal()
        if t < t0:
            t = t0
        if self._anom_t is None or self._anom_t > t:
            self._anom_t, self._anom = (
                t0,
                {var: self._innovation(vi, t0) for vi, var in enumerate(VARS)},
            )
        c = float(np.sqrt(1.0 - self._rho**2))
        while self._anom_t < t:
            self._anom_t += 1
            self._anom = {
                var: (self._rho * self._anom[var] + c * self._innovation(vi, self._anom_t)).astype(np.float32)
                for vi, var in enumerate(VARS)
            }
        return {var: 0.12 * a for var, a in self._anom.items()}

    def _innovation(self, vi: int, t: int) -> np.ndarray:
        return gaussian_random_field(
            self.grid.shape,
            10.0 / self.grid.km_per_px(),
            np.random.default_rng([self.seed, 202, vi, t]),
        )

    def _deviation(self, var: str, t: int) -> np.ndarray:
        """D at day ordinal ``t`` from the last analysis on or before it (decayed)."""
        k = int(np.searchsorted(self._days, t, side="right")) - 1
        if k < 0:
            return self._d0[var]
        return self._dev[var][k] * np.float32(np.exp(-(t - self._days[k]) / self.relax_days))

    def _analyse(self, day: date) -> None:
        """Correct the forecast of a sampling day with its measurements (kriged residuals)."""
        t = day.toordinal()
        anom = self._anomaly(t)
        table = self.drivers.table
        k = int(np.searchsorted(self._days, t, side="right")) - 1
        gap = (t - self._days[k]) if k >= 0 else 0
        refresh = float(np.sqrt(max(0.0, 1.0 - np.exp(-2.0 * gap / self.relax_days))))
        corr_px = 6.0 / self.grid.km_per_px()
        for vi, var in enumerate(VARS):
            prior = self._prior(var, self._glon, self._glat, day)
            dev = self._deviation(var, t)
            if refresh > 0:
                rng = np.random.default_rng([self.seed, 101, vi, t])
                dev = dev + 0.15 * refresh * gaussian_random_field(self.grid.shape, corr_px, rng)
            f = prior + dev + anom[var]
            rows = table[(table["date"] == day) & table[var].notna()]
            if len(rows):
                lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
                resid = np.log10(rows[var].to_numpy(float)) - self.grid.sample(f, lon, lat)
                f = f + _krige(lon * self._kx, lat * KM_PER_DEG_LAT, resid, self._gx, self._gy, self._range_km)
            lo, hi = LIMITS[var]
            f = np.clip(f, np.log10(lo), np.log10(hi))
            self._dev[var].append((f - prior - anom[var]).astype(np.float32))
        self._days.append(t)

    def log10_on(self, day: date) -> dict[str, np.ndarray]:
        """The four log10 fields for ``day`` on the physics grid (only samples up to ``day`` count)."""
        t = day.toordinal()
        anom = self._anomaly(t)
        out = {}
        for var in VARS:
            f = self._prior(var, self._glon, self._glat, day) + self._deviation(var, t) + anom[var]
            lo, hi = LIMITS[var]
            out[var] = np.clip(f, np.log10(lo), np.log10(hi)).astype(np.float32)
        return out

    def values_at(self, day: date, lon: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
        """Linear-unit constituent values at points on ``day``."""
        logs = self.log10_on(day)
        return {v: (10.0 ** self.grid.sample(logs[v], lon, lat)).astype(np.float32) for v in VARS}
