"""Spectral bloom indices from reflectance arrays (docs/bio-optics.md § Indices), shared by every stage.

Every function takes a reflectance array whose **last axis is wavelength** plus the
wavelengths (nm) of that axis, and picks the band nearest to each wavelength a
formula names. A formula whose nearest band is further than ``tolerance_nm`` from
the wavelength it needs cannot be computed from that sensor and raises
:class:`IndexUnavailableError` naming the missing band — e.g. MCI needs 753 nm, which
PACE L2 Rrs (ending at 719 nm) does not have, and CI needs 681 nm, which Sentinel-2
does not have. :data:`AVAILABILITY` lists which index each sensor supports.

The indices are computed on whatever reflectance is passed (PACE Rrs, S2 surface
reflectance ρ = π·Rrs); note that CI was defined on Rayleigh-corrected reflectance,
so its thresholds must be recalibrated for Rrs (docs/bio-optics.md § Indices).

Formulas (SS = the baseline operator, ``SS(λ) = R(λ) − R(λ⁻) − [R(λ⁺) − R(λ⁻)]·(λ−λ⁻)/(λ⁺−λ⁻)``):

* ``ci``: Wynne et al. 2008, ``−SS(681)`` with λ⁻ 665, λ⁺ 709;
* ``ss665``: Lunetta et al. 2015, ``SS(665)`` with λ⁻ 620, λ⁺ 681 (> 0: PC trough at 620);
* ``ci_cyano``: ``CI`` where ``SS665 > 0`` and ``CI > 0``, else 0 (NOAA / CyAN);
* ``ndci``: Mishra & Mishra 2012, ``(R708 − R665)/(R708 + R665)`` (S2: B5/B4, 704/665 nm);
* ``mci``: Gower 2005, ``SS(709)`` with λ⁻ 681, λ⁺ 753 (S2 form: 705 between 665 and 740);
* ``dekker_pc``: Dekker 1993, ``0.5·(R600 + R648) − R624``. PACE L2 Rrs has no band
  between 588 and 613 nm (OCI bands 113–121 are excluded), so with the default 3 nm
  tolerance Dekker is unavailable for PACE; pass ``tolerance_nm=13`` to accept 588/613
  as stand-ins for 600 nm knowingly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spectm.errors import BadInputError


class IndexUnavailableError(BadInputError):
    """The sensor has no band close enough to a wavelength the index needs."""


AVAILABILITY: dict[str, dict[str, bool]] = {
    "pace_oci_l2": {"ci": True, "ss665": True, "ci_cyano": True, "ndci": True, "mci": False, "dekker_pc": False},
    "sentinel2": {"ci": False, "ss665": False, "ci_cyano": False, "ndci": True, "mci": True, "dekker_pc": False},
}


def nearest_band(wavelengths: Sequence[float] | np.ndarray, target: float, tolerance_nm: float = 6.0) -> int:
    """Index of the band nearest ``target`` nm; raise if none lies within ``tolerance_nm``."""
    wl = np.asarray(wavelengths, dtype=float)
    if wl.ndim != 1 or wl.size == 0:
        raise BadInputError("wavelengths must be a non-empty 1-D sequence", "pass the band centres in nm")
    i = int(np.argmin(np.abs(wl - target)))
    if abs(wl[i] - target) > tolerance_nm:
        raise IndexUnavailableError(
            f"no band within {tolerance_nm:g} nm of {target:g} nm (nearest: {wl[i]:g} nm)",
            "this index cannot be computed from this sensor; see spectm.indices.AVAILABILITY",
        )
    return i


def _band(r: np.ndarray, wl: Sequence[float] | np.ndarray, target: float, tol: float) -> np.ndarray:
    return np.asarray(r)[..., nearest_band(wl, target, tol)]


def baseline_subtracted(
    r: np.ndarray, wl: Sequence[float] | np.ndarray, lam: float, lo: float, hi: float, tolerance_nm: float = 6.0
) -> np.ndarray:
    """``SS(λ)``: height of R(λ) above the line through R(λ⁻) and R(λ⁺), using the actual band centres."""
    w = np.asarray(wl, dtype=float)
    i_lo, i, i_hi = (nearest_band(w, x, tolerance_nm) for x in (lo, lam, hi))
    r = np.asarray(r, dtype=float)
    frac = (w[i] - w[i_lo]) / (w[i_hi] - w[i_lo])
    return r[..., i] - r[..., i_lo] - (r[..., i_hi] - r[..., i_lo]) * frac


def ci(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 3.0) -> np.ndarray:
    """Cyanobacteria/Chlorophyll Index ``−SS(681)`` (665, 681, 709 nm)."""
    return -baseline_subtracted(r, wl, 681.0, 665.0, 709.0, tolerance_nm)


def ss665(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 3.0) -> np.ndarray:
    """``SS(665)`` between 620 and 681 nm; positive where phycocyanin depresses 620 nm."""
    return baseline_subtracted(r, wl, 665.0, 620.0, 681.0, tolerance_nm)


def ci_cyano(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 3.0) -> np.ndarray:
    """CI where ``SS665 > 0`` and ``CI > 0``, else 0 (NaN stays NaN)."""
    c = ci(r, wl, tolerance_nm)
    s = ss665(r, wl, tolerance_nm)
    out = np.where((s > 0) & (c > 0), c, 0.0)
    return np.where(np.isnan(c) | np.isnan(s), np.nan, out)


def ndci(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 6.0) -> np.ndarray:
    """Normalised Difference Chlorophyll Index ``(R708 − R665)/(R708 + R665)`` (S2: B5 704 nm)."""
    r708 = _band(r, wl, 708.0, tolerance_nm).astype(float)
    r665 = _band(r, wl, 665.0, tolerance_nm).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (r708 - r665) / (r708 + r665)


def ndci_chl(ndci_value: np.ndarray) -> np.ndarray:
    """Mishra & Mishra 2012 calibration: ``Chl = 14.039 + 86.115·NDCI + 194.325·NDCI²`` µg/L."""
    x = np.asarray(ndci_value, dtype=float)
    return 14.039 + 86.115 * x + 194.325 * x**2


def mci(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 6.0) -> np.ndarray:
    """Maximum Chlorophyll Index: 709 between 681 and 753 nm, or the S2 form 705 between 665 and 740."""
    w = np.asarray(wl, dtype=float)
    if np.min(np.abs(w - 753.0)) <= tolerance_nm and np.min(np.abs(w - 681.0)) <= 3.0:
        return baseline_subtracted(r, w, 709.0, 681.0, 753.0, tolerance_nm)
    if np.min(np.abs(w - 740.0)) <= tolerance_nm:
        return baseline_subtracted(r, w, 705.0, 665.0, 740.0, tolerance_nm)
    raise IndexUnavailableError(
        f"MCI needs 753 nm (or 740 nm for the S2 form); the bands end at {w.max():g} nm",
        "use ci/ndci for PACE L2 Rrs (which ends at 719 nm) or the nflh product",
    )


def dekker_pc(r: np.ndarray, wl: Sequence[float] | np.ndarray, tolerance_nm: float = 3.0) -> np.ndarray:
    """Dekker 1993 phycocyanin index ``0.5·(R600 + R648) − R624``."""
    return 0.5 * (_band(r, wl, 600.0, tolerance_nm) + _band(r, wl, 648.0, tolerance_nm)) - _band(
        r, wl, 624.0, tolerance_nm
    )


INDICES = {"ci": ci, "ss665": ss665, "ci_cyano": ci_cyano, "ndci": ndci, "mci": mci, "dekker_pc": dekker_pc}


def compute(name: str, r: np.ndarray, wl: Sequence[float] | np.ndarray) -> np.ndarray:
    """Compute an index by name (one of :data:`INDICES`)."""
    if name not in INDICES:
        raise BadInputError(f"unknown index '{name}'", f"use one of: {', '.join(INDICES)}")
    return INDICES[name](r, wl)
