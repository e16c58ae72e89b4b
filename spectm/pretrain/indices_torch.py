"""Bio-optical indices in torch, for index-inference targets and index-guided masking.

The trainer computes index targets on the fly from each batch, on the training device,
so it needs the indices on torch tensors with the band axis anywhere; ``spectm.indices``
(the shared numpy implementation, band axis last) is the reference, and a test checks
that these give the same values (same formulas, same nearest-band tolerances). The three
water indices of docs/model.md:

- ``ci``    Wynne 2008 cyanobacteria index ``CI = -SS(681)`` with λ⁻ = 665, λ⁺ = 709 nm;
- ``ss665`` ``R665 - R620 - (R681 - R620)·(665-620)/(681-620)`` (> 0: PC trough at 620);
- ``ndci``  Mishra & Mishra 2012 ``(R708 - R665)/(R708 + R665)``.

Bands are picked by nearest centre wavelength within a tolerance (3 nm; 6 nm for NDCI, so
that Sentinel-2 B5 at 704 nm qualifies, as in the S2 NDCI definition and spectm.indices), and the
baseline interpolation uses the *actual* centres of the picked bands, not the nominal
numbers. An index whose bands the sensor lacks (CI and SS665 on Sentinel-2) is simply not
available: :func:`available_indices` says which are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from spectm.errors import ConfigError
from spectm.pretrain.wavelengths import nearest_band

# name -> list of (target nm, tolerance nm)
INDEX_BANDS: dict[str, list[tuple[float, float]]] = {
    "ci": [(665.0, 3.0), (681.0, 3.0), (709.0, 3.0)],
    "ss665": [(620.0, 3.0), (665.0, 3.0), (681.0, 3.0)],
    "ndci": [(665.0, 6.0), (708.0, 6.0)],
}
KNOWN_INDICES = tuple(INDEX_BANDS)


def _bands(wavelengths: Sequence[float], name: str) -> list[int] | None:
    out = []
    for nm, tol in INDEX_BANDS[name]:
        i = nearest_band(np.asarray(wavelengths), nm, tol)
        if i is None:
            return None
        out.append(i)
    return out


def index_bands(wavelengths: Sequence[float], name: str) -> list[int]:
    """Band positions an index reads (``[]`` when the sensor lacks one of them)."""
    if name not in INDEX_BANDS:
        raise ConfigError(f"unknown index '{name}'", f"use some of: {', '.join(KNOWN_INDICES)}")
    return _bands([float(w) for w in wavelengths], name) or []


def available_indices(wavelengths: Sequence[float], wanted: Sequence[str] = KNOWN_INDICES) -> list[str]:
    """The subset of ``wanted`` this band set supports (order kept)."""
    for n in wanted:
        if n not in INDEX_BANDS:
            raise ConfigError(f"unknown index '{n}'", f"use some of: {', '.join(KNOWN_INDICES)}")
    return [n for n in wanted if _bands(wavelengths, n) is not None]


def _ss(r_m: torch.Tensor, r: torch.Tensor, r_p: torch.Tensor, l_m: float, lam: float, l_p: float) -> torch.Tensor:
    """Spectral shape ``SS(λ) = R(λ) - R(λ⁻) - [R(λ⁺) - R(λ⁻)]·(λ - λ⁻)/(λ⁺ - λ⁻)``."""
    return r - r_m - (r_p - r_m) * ((lam - l_m) / (l_p - l_m))


def compute_indices(
    x: torch.Tensor, wavelengths: Sequence[float], names: Sequence[str], band_dim: int = -3
) -> torch.Tensor:
    """Indices per pixel from reflectance ``x``; the band axis is replaced by an index axis.

    ``x`` is in Rrs units (not normalised). NaN inputs give NaN outputs (callers mask them).
    Raises :class:`ConfigError` when an index needs a band the sensor lacks.
    """
    wl = [float(w) for w in wavelengths]
    outs = []
    for name in names:
        b = _bands(wl, name)
        if b is None:
            raise ConfigError(
                f"index '{name}' needs bands near {[nm for nm, _ in INDEX_BANDS[name]]} nm that this sensor lacks",
                f"drop it from pretrain.loss.indices (available here: {available_indices(wl) or 'none'})",
            )
        r = [x.select(band_dim, i) for i in b]
        lam = [wl[i] for i in b]
        if name == "ci":
            outs.append(-_ss(r[0], r[1], r[2], lam[0], lam[1], lam[2]))
        elif name == "ss665":
            outs.append(_ss(r[0], r[1], r[2], lam[0], lam[1], lam[2]))
        else:  # ndci
            outs.append((r[1] - r[0]) / (r[1] + r[0]).clamp_min(1e-6))
    if not outs:
        shape = list(x.shape)
        shape[band_dim] = 0
        return x.new_zeros(shape)
    return torch.stack(outs, dim=band_dim if band_dim >= 0 else x.dim() + band_dim)
