"""What stands between the water and the file: clouds, glint, sensor noise, atmospheric error.

Levels (all documented in docs/twin.md; one place to change them):

* **Clouds** — a Gaussian random field (correlation 12 km) thresholded at the day's
  cloud fraction. The fraction is drawn per day from a Beta distribution (concentration
  4) around a seasonal mean for the western basin: Jun 0.45, Jul 0.35, Aug 0.35,
  Sep 0.45, Oct 0.60, other months 0.65 (judgement from PACE ``CloudCover`` values and
  the Great Lakes' summer climatology; [assumed]). The same field, evaluated anywhere,
  is used for PACE and Sentinel-2 of the same day, so both see the same clouds (S2 a
  few hours earlier, so the S2 field is the same field advected 5 km east).
  Cloud shadows are the cloud mask displaced 1.5 km away from the sun.
* **Glint** — ``G = exp(−((vz − θs)/10°)²)`` with ``vz`` the signed view zenith
  (positive toward the sun's side of the track) and ``θs`` the solar zenith: glint peaks
  where the view is in the specular direction, toward the swath edge on the sun side.
  A residual ``0.002·G`` sr⁻¹ (spectrally flat) stays in Rrs; ``G > 0.5`` raises
  ``HIGLINT`` (not masked: l2gen's ``maskglint=0``), ``0.05 < G ≤ 0.5`` ``MODGLINT``.
* **Sensor noise** — ``Rrs_unc(λ) = sqrt((9e-5·(443/λ)^1.5)² + (0.03·Rrs)²)`` sr⁻¹
  (magnitudes of real ``Rrs_unc``: ~1e-4 sr⁻¹ in the blue), and the written Rrs has
  independent Gaussian noise of that SD per pixel and band.
* **Residual atmospheric error** — spectrally smooth, ``ε·(λ/443)^(−2)`` with ε a
  spatially smooth field (correlation 30 km) of SD 2e-4 sr⁻¹ plus a daily offset of
  SD 1e-4 sr⁻¹.
* **690 nm artefact** — a negative bias ``−0.0015·exp(−((λ−689)/3)²)`` sr⁻¹ with noise
  ×3 in 686–694 nm (the O2-B band, docs/twin.md), so Rrs there is often negative.
* **Stray light** — ``STRAYLIGHT`` within 2 pixels of a cloud (flag only, not masked).
* **ATMFAIL** — 0.02 % of water pixels at random (filled, as l2gen does).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from spectm.twin.fields import Grid
from spectm.twin.grf import gaussian_random_field

SEASONAL_CLOUD = {6: 0.45, 7: 0.35, 8: 0.35, 9: 0.45, 10: 0.60}
CLOUD_CORR_KM = 12.0


def cloud_fraction(day: date, seed: int) -> float:
    """The day's cloud fraction over the region (see the module docstring)."""
    mean = SEASONAL_CLOUD.get(day.month, 0.65)
    rng = np.random.default_rng([seed, 404, day.toordinal()])
    k = 4.0
    return float(rng.beta(mean * k, (1 - mean) * k))


class CloudField:
    """The day's cloud optical field on the physics grid; ``cloudy(lon, lat)`` is a mask."""

    def __init__(self, grid: Grid, day: date, seed: int) -> None:
        self.grid = grid
        self.fraction = cloud_fraction(day, seed)
        rng = np.random.default_rng([seed, 405, day.toordinal()])
        self.field = gaussian_random_field(grid.shape, CLOUD_CORR_KM / grid.km_per_px(), rng)
        self.threshold = float(np.quantile(self.field, 1 - self.fraction)) if self.fraction > 0 else np.inf

    def optical(self, lon: np.ndarray, lat: np.ndarray, shift_km: float = 0.0) -> np.ndarray:
        """Field value minus threshold (> 0 is cloud); ``shift_km`` moves the clouds east."""
        dlon = shift_km / (111.2 * np.cos(np.radians(np.mean(self.grid.lat))))
        return self.grid.sample(self.field, np.asarray(lon) - dlon, lat) - self.threshold

    def cloudy(self, lon: np.ndarray, lat: np.ndarray, shift_km: float = 0.0) -> np.ndarray:
        return self.optical(lon, lat, shift_km) > 0


def glint(view_zenith: np.ndarray, solar_zenith: float | np.ndarray) -> np.ndarray:
    """Relative glint strength 0…1 (see the module docstring)."""
    return np.exp(-(((np.asarray(view_zenith) - solar_zenith) / 10.0) ** 2))


def rrs_uncertainty(rrs: np.ndarray, wl: np.ndarray) -> np.ndarray:
    """Rrs_unc-like SD (sr⁻¹) per pixel and band."""
    base = 9e-5 * (443.0 / np.asarray(wl)) ** 1.5
    return np.sqrt(base**2 + (0.03 * rrs) ** 2).astype(np.float32)


def o2_artefact(wl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bias sr⁻¹, noise multiplier) per band for the 686–694 nm O2-B artefact."""
    wl = np.asarray(wl, float)
    bias = -0.0015 * np.exp(-(((wl - 689.0) / 3.0) ** 2))
    mult = np.where((wl >= 686) & (wl <= 694), 3.0, 1.0)
    return bias, mult


def atmospheric_residual(
    grid: Grid, day: date, seed: int, lon: np.ndarray, lat: np.ndarray, wl: np.ndarray
) -> np.ndarray:
    """Spectrally smooth residual (n_points, n_bands), sr⁻¹."""
    rng = np.random.default_rng([seed, 406, day.toordinal()])
    eps_field = 2e-4 * gaussian_random_field(grid.shape, 30.0 / grid.km_per_px(), rng) + rng.normal(0, 1e-4)
    eps = grid.sample(eps_field, lon, lat).reshape(-1, 1)
    return (eps * (np.asarray(wl)[None, :] / 443.0) ** -2).astype(np.float32)


def dilate(mask: np.ndarray, px: int) -> np.ndarray:
    """Binary dilation by a square of half-width ``px`` (for the stray-light ring)."""
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, iterations=px) if px > 0 else mask
