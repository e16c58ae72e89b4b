"""What the join writes besides the match-up table: the chips dataset and the manifest's counts.

The chips dataset carries, per chip, where it was cut (corner, row and column), when (its
time steps and the future step), and what it is for (split, station, sample, horizon, kind),
so a reader never needs the cube to interpret it. The counts say what happened to every
sample and chip: matched, unmatched (with its reason), excluded for leakage, short history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spectm import __version__
from spectm.config import JoinSection
from spectm.join import store
from spectm.join.chips import ChipSpec
from spectm.join.inputs import Cube
from spectm.join.matchup import HORIZONS, REASONS


def chips_dataset(
    cube: Cube, p: JoinSection, specs: list[ChipSpec], chips: np.ndarray | None, fut: np.ndarray | None
) -> xr.Dataset:
    """The chips dataset; ``chips``/``fut`` None → lazy placeholders filled later, block by block."""
    g = cube.grid
    nt = p.chip_time
    if chips is None or fut is None:
        import dask.array as dsa

        nb, size = cube.wavelengths.size, p.chip_size
        chips = dsa.full((len(specs), nt, nb, size, size), np.nan, dtype=np.float32, chunks=(16, nt, nb, size, size))
        fut = dsa.full((len(specs), nb, size, size), np.nan, dtype=np.float32, chunks=(16, nb, size, size))
    dates = np.array([[cube.times[t] for t in s.steps] for s in specs], dtype="datetime64[ns]").reshape(len(specs), nt)
    fdates = np.array(
        [cube.times[s.future] if s.future >= 0 else np.datetime64("NaT") for s in specs], dtype="datetime64[ns]"
    )
    corners = np.array([g.corner(s.r0, s.c0) for s in specs], dtype=np.float64).reshape(len(specs), 2)

    def strs(vals: list[str]) -> np.ndarray:
        return store.as_str_array(vals)

    return xr.Dataset(
        {"chips": (("chip", "time", "band", "y", "x"), chips), "future": (("chip", "band", "y", "x"), fut)},
        coords={
            "chip": strs([s.id for s in specs]),
            "wavelength": ("band", cube.wavelengths.astype(np.float32)),
            "band_name": ("band", strs(list(cube.band_names))),
            "chip_date": (("chip", "time"), dates),
            "future_date": ("chip", fdates),
            "split": ("chip", strs([s.split for s in specs])),
            "station": ("chip", strs([s.station for s in specs])),
            "sample_id": ("chip", strs([s.sample_id for s in specs])),
            "horizon": ("chip", strs([s.horizon for s in specs])),
            "kind": ("chip", strs([s.kind for s in specs])),
            "x0": ("chip", corners[:, 0]),
            "y0": ("chip", corners[:, 1]),
            "row0": ("chip", np.array([s.r0 for s in specs], dtype=np.int64)),
            "col0": ("chip", np.array([s.c0 for s in specs], dtype=np.int64)),
        },
        attrs={
            "sensor": cube.sensor,
            "resolution_m": g.res,
            "crs": cube.crs.to_string(),
            "chip_size": p.chip_size,
            "lead_days": p.lead_days,
            "cube_fingerprint": cube.fingerprint,
            "spectm_version": __version__,
            "source": "spectm join",
        },
    )


def join_counts(
    samples: Any,
    m: pd.DataFrame,
    un: pd.DataFrame,
    kept: list[ChipSpec],
    specs: list[ChipSpec],
    spec_excl: np.ndarray,
    n_match_specs: int,
    short: dict,
    ucounts: dict,
    cube: Cube,
) -> dict:
    """The manifest's ``counts``: samples considered, matched and unmatched per horizon (by
    reason), chips per kind and split, chips excluded for leakage, short histories."""
    n = len(samples.frame)
    horizons = {}
    for hz in HORIZONS:
        u = un[un["horizon"] == hz]["reason"].value_counts()
        horizons[hz] = {
            "considered": n,
            "matched": int((m["horizon"] == hz).sum()),
            "unmatched": {r: int(u.get(r, 0)) for r in REASONS if int(u.get(r, 0))},
        }
    by_split: dict[str, dict[str, int]] = {}
    for s in kept:
        by_split.setdefault(s.split, {"matchup": 0, "unlabeled": 0})[s.kind] += 1
    excl_match = int(spec_excl[:n_match_specs].sum())
    return {
        "samples": {"rows_in_file": samples.n_rows, "filtered": samples.filtered, "considered": n},
        "horizons": horizons,
        "matchups_by_split": {k: int(v) for k, v in m["split"].value_counts().sort_index().items()},
        "chips": {
            "total": len(kept),
            "matchup": sum(s.kind == "matchup" for s in kept),
            "unlabeled": sum(s.kind == "unlabeled" for s in kept),
            "by_split": by_split,
            "excluded_leak": {"matchup": excl_match, "unlabeled": int(spec_excl[n_match_specs:].sum())},
            "short_history": short,
            "unlabeled_sampling": ucounts,
        },
        "cube": {"slices": int(cube.times.size), "incomplete_slices_skipped": cube.n_incomplete},
    }


__all__ = ["chips_dataset", "join_counts"]
