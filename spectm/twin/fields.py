"""Constituent fields over the lake, day by day, honouring the station measurements.

Each constituent (Chl, PC, a_g(400), TSS) lives in log10 space on a regular lon/lat
"physics grid" (default 0.005°, ≈ 0.5 km). On a sampling day *k* its field is

    prior(x, t_k) + 0.15·GRF_k(x) + kriged residual(x)

* **prior** — the bloom climatology: a Chl/PC bloom that starts in Maumee Bay and
  spreads (its e-folding distance from the Maumee mouth grows from 8 km in early July
  to 53 km by September) with an August peak; CDOM and TSS decay away from the
  Maumee mouth.
* **GRF_k** — a Gaussian random field (correlation 6 km) for spatial structure.
* **kriged residual** — simple kriging (Gaussian covariance, range 15 km, nugget
  1e-6) of ``measurement − (prior + GRF)`` at the visit positions, so that at a
  station on a sampling day the field *equals* the measurement (to float32
  precision; the tests check 1 %). Away from stations the field relaxes to the prior.

Between sampling days the log fields are interpolated linearly in time, and a daily
"weather" anomaly (GRF, correlation 10 km, SD 0.12 dex) is added with weight
``sin(π·w)`` (w = fraction of the way between the two sampling days), so it vanishes
on sampling days and exactness at stations holds. Outside the sampled period the
nearest sampling day's field is held and the anomaly has its full SD.
"""

from __future__ import annotations

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


def _krige(
    px: np.ndarray, py: np.ndarray, resid: np.ndarray, gx: np.ndarray, gy: np.ndarray, range_km: float
) -> np.ndarray:
    """Simple kriging (zero mean) of residuals at points (km coords) onto grid points."""
    d_pp = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :])
    k = np.exp(-((d_pp / range_km) ** 2)) + 1e-6 * np.eye(px.size)
    wts = np.linalg.solve(k, resid)
    d_gp = np.hypot(gx[..., None] - px, gy[..., None] - py)
    return np.exp(-((d_gp / range_km) ** 2)) @ wts


class FieldModel:
    """Log10 constituent fields on sampling days, and their daily interpolation."""

    def __init__(self, drivers: Drivers, grid: Grid, seed: int, range_km: float = 15.0) -> None:
        self.grid = grid
        self.drivers = drivers
        self.seed = seed
        self.sample_days: list[date] = drivers.dates
        glon, glat = np.meshgrid(grid.lon, grid.lat)
        self._glon, self._glat = glon, glat
        lat0 = float(np.mean(grid.lat))
        kx = KM_PER_DEG_LAT * np.cos(np.radians(lat0))
        gx, gy = glon * kx, glat * KM_PER_DEG_LAT
        corr_px = 6.0 / grid.km_per_px()
        self.fields: dict[str, np.ndarray] = {}
        table = drivers.table
        for vi, var in enumerate(VARS):
            stack = np.empty((len(self.sample_days), *grid.shape), dtype=np.float32)
            for k, day in enumerate(self.sample_days):
                rng = np.random.default_rng([seed, 101, vi, day.toordinal()])
                f = prior_log10(var, glon, glat, day) + 0.15 * gaussian_random_field(grid.shape, corr_px, rng)
                rows = table[(table["date"] == day) & table[var].notna()]
                if len(rows):
                    lon, lat = rows["lon"].to_numpy(float), rows["lat"].to_numpy(float)
                    at = grid.sample(f, lon, lat)
                    resid = np.log10(rows[var].to_numpy(float)) - at
                    f = f + _krige(lon * kx, lat * KM_PER_DEG_LAT, resid, gx, gy, range_km)
                lo, hi = LIMITS[var]
                stack[k] = np.clip(f, np.log10(lo), np.log10(hi))
            self.fields[var] = stack

    def log10_on(self, day: date) -> dict[str, np.ndarray]:
        """The four log10 fields for ``day`` on the physics grid."""
        days = [d.toordinal() for d in self.sample_days]
        t = day.toordinal()
        if t < days[0]:
            k0 = k1 = 0
            w, amp = 0.0, 1.0
        elif t > days[-1]:
            k0 = k1 = len(days) - 1
            w, amp = 0.0, 1.0
        else:
            k1 = int(np.searchsorted(days, t))
            k0 = k1 - 1 if days[k1] != t else k1  # on a sampling day: that day's field, no anomaly
            w = 0.0 if k0 == k1 else (t - days[k0]) / (days[k1] - days[k0])
            amp = float(np.sin(np.pi * w))
        out = {}
        corr_px = 10.0 / self.grid.km_per_px()
        for vi, var in enumerate(VARS):
            f = (1 - w) * self.fields[var][k0] + w * self.fields[var][k1]
            if amp > 0:
                rng = np.random.default_rng([self.seed, 202, vi, t])
                f = f + 0.12 * amp * gaussian_random_field(self.grid.shape, corr_px, rng)
            lo, hi = LIMITS[var]
            out[var] = np.clip(f, np.log10(lo), np.log10(hi)).astype(np.float32)
        return out

    def values_at(self, day: date, lon: np.ndarray, lat: np.ndarray) -> dict[str, np.ndarray]:
        """Linear-unit constituent values at points on ``day``."""
        logs = self.log10_on(day)
        return {v: (10.0 ** self.grid.sample(logs[v], lon, lat)).astype(np.float32) for v in VARS}
