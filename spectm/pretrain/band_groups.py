"""Spectral grouping of tokens: k adjacent bands per token, with the targeted windows' edges kept exact.

Why: with one token per (time step, spatial patch, band), the token count is
``T × P × C``. On PACE (C = 172) a chip cut into several spatial patches — which the
spatial strategies (Laprade's two-stage mask, SIGMAE's salient patches) need — is ~4× the
tokens of a one-patch chip, and attention cost grows faster than that. Grouping k adjacent
bands into one token divides the spectral axis by ~k, so 2×2 patches of 4 bands cost about
what one patch of single bands costs (docs/model.md, "Grouped bands").

How the groups are cut (spectm's choice): the bands are split into runs of constant
membership in the targeted windows (inside / outside), and each run into ``ceil(n/k)``
contiguous groups of near-equal size (``numpy.array_split``). No group straddles a window
edge, so SpecTM's mask — exactly the bands in the windows — is still exact at group
granularity: a group is either wholly targeted or not at all. On PACE with k = 4 that gives
45 groups, 13 of them targeted (the 46 bands 99–109, 125–141, 154–171).

A group is hidden only as a whole; the model reads a band-level mask and hides a group when
all of its bands are hidden (:func:`group_mask`), and the masking strategies draw on the group
grid and expand to bands (:func:`expand_to_bands`), so both agree by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from spectm.errors import ConfigError
from spectm.pretrain.wavelengths import SPECTM_WINDOWS_NM, in_windows


def band_groups(
    wavelengths: Sequence[float], size: int, windows: Sequence[Sequence[float]] | None = None
) -> np.ndarray:
    """``(G, size)`` band indices of each group (``-1`` pads a shorter group), in band order.

    ``size`` 1 gives one group per band (the per-band layout). ``windows`` (nm; default SpecTM's
    three) are the edges no group may straddle.
    """
    if size < 1:
        raise ConfigError(f"band_group {size} is below 1", "use 1 (one band per token) or a small k such as 4")
    c = len(wavelengths)
    if size == 1:
        return np.arange(c, dtype=np.int64)[:, None]
    win = [(float(lo), float(hi)) for lo, hi in (windows if windows is not None else SPECTM_WINDOWS_NM)]
    inside = in_windows(list(wavelengths), win)
    edges = [0] + [i for i in range(1, c) if inside[i] != inside[i - 1]] + [c]
    rows: list[np.ndarray] = []
    for lo, hi in itertools.pairwise(edges):
        run = np.arange(lo, hi)
        rows.extend(np.array_split(run, -(-len(run) // size)))
    out = np.full((len(rows), size), -1, dtype=np.int64)
    for g, r in enumerate(rows):
        out[g, : len(r)] = r
    return out


def group_label_wavelengths(wavelengths: Sequence[float], groups: np.ndarray) -> list[float]:
    """One wavelength per group for the masking strategies' window tests: its first band's.

    Every band of a group lies on the same side of every window edge, so the first band's
    nominal wavelength says exactly whether the whole group is targeted.
    """
    wl = np.asarray(wavelengths, dtype=np.float64)
    return [float(v) for v in wl[groups[:, 0]]]


def band_to_group(groups: np.ndarray, n_bands: int) -> np.ndarray:
    """``(C,)`` the group of each band."""
    out = np.full(n_bands, -1, dtype=np.int64)
    for g, row in enumerate(groups):
        out[row[row >= 0]] = g
    if (out < 0).any():
        raise ValueError(f"bands {np.flatnonzero(out < 0).tolist()} are in no group")
    return out


def expand_to_bands(values: np.ndarray, groups: np.ndarray, n_bands: int) -> np.ndarray:
    """Group-level values on the last axis ``(..., G)`` → band-level ``(..., C)`` (each band takes its group's)."""
    return values[..., band_to_group(groups, n_bands)]


def group_mask(band_mask: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Band-level mask ``(..., C)`` → group-level ``(..., G)``: a group is hidden when all its bands are."""
    members = groups >= 0
    picked = band_mask[..., np.where(members, groups, 0)]  # (..., G, k)
    return np.where(members, picked, True).all(axis=-1)
