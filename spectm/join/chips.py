"""Chips: fixed-size T×C×H×W patches with their dates, for match-ups and for pretraining.

* **Match-up chips** — one per match-up (sample × horizon): ``chip_size`` cells square, the
  sample's cell at ``(chip_size // 2, chip_size // 2)`` unless the grid edge shifts the chip
  inwards (the cell's position is kept in the match-up table: ``chip_row``/``chip_col``).
  The last time step is the match-up slice.
* **Unlabeled chips** (pretraining) — the grid is tiled with non-overlapping ``chip_size``
  squares from its upper-left corner. On every cube date a tile is a candidate when its
  water share ≥ ``min_water_fraction`` and its valid share (``valid_count > 0`` on water)
  ≥ ``chip_min_valid``; at most ``unlabeled_per_date`` candidates are kept per date, drawn
  with a generator seeded by (``seed``, date) so adding dates never changes earlier draws.
* **History** (``chip_time`` > 1) — the ``chip_time − 1`` most recent earlier slices within
  ``chip_lookback_days`` whose chip valid share ≥ ``chip_min_valid``; a chip without enough
  history is not written (counted as ``short_history``).
* **Future** (the 8-day-ahead pretraining target) — the slice ``lead_days ± time_window_days``
  after the last step, nearest to ``lead_days``, ties to the most valid; ``future`` holds its
  pixels (NaN where invalid, all NaN and ``future_date`` NaT when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spectm.config import JoinSection
from spectm.join.inputs import Cube


@dataclass
class ChipSpec:
    id: str
    kind: str  # "matchup" | "unlabeled"
    steps: list[int]  # cube time indices, increasing; the last is "now"
    r0: int
    c0: int
    future: int  # cube time index or -1
    station: str = ""
    sample_id: str = ""
    horizon: str = ""
    split: str = "train"


def chip_valid_share(cube: Cube, t: int, r0: int, c0: int, size: int) -> float:
    return float(cube.valid[t, r0 : r0 + size, c0 : c0 + size].mean())


def history(cube: Cube, t_last: int, r0: int, c0: int, p: JoinSection) -> list[int] | None:
    """Time steps ending at ``t_last`` (see module docstring), or None if too few."""
    need = p.chip_time - 1
    if need == 0:
        return [t_last]
    steps: list[int] = []
    for t in range(t_last - 1, -1, -1):
        if cube.local_days[t_last] - cube.local_days[t] > p.chip_lookback_days:
            break
        if chip_valid_share(cube, t, r0, c0, p.chip_size) >= p.chip_min_valid:
            steps.append(t)
            if len(steps) == need:
                return [*reversed(steps), t_last]
    return None


def future_step(cube: Cube, t_last: int, r0: int, c0: int, p: JoinSection) -> int:
    off = cube.local_days - cube.local_days[t_last]
    cand = np.flatnonzero(np.abs(off - p.lead_days) <= p.time_window_days)
    best, key = -1, None
    for t in cand:
        share = chip_valid_share(cube, int(t), r0, c0, p.chip_size)
        if share == 0:
            continue
        k = (abs(int(off[t]) - p.lead_days), -share, int(t))
        if key is None or k < key:
            best, key = int(t), k
    return best


def unlabeled_specs(cube: Cube, p: JoinSection) -> tuple[list[ChipSpec], dict[str, int]]:
    """Pretraining chips (module docstring) and counts (candidates, drawn, short_history)."""
    s = p.chip_size
    ny, nx = cube.grid.shape
    counts = {"tiles": 0, "water_tiles": 0, "candidates": 0, "drawn": 0, "short_history": 0}
    if p.unlabeled_per_date == 0:
        return [], counts
    origins = [(r0, c0) for r0 in range(0, ny - s + 1, s) for c0 in range(0, nx - s + 1, s)]
    counts["tiles"] = len(origins)
    water = [(r0, c0) for r0, c0 in origins if cube.water[r0 : r0 + s, c0 : c0 + s].mean() >= p.min_water_fraction]
    counts["water_tiles"] = len(water)
    specs: list[ChipSpec] = []
    for t in range(cube.times.size):
        ok = cube.valid[t] & cube.water
        cands = [(r0, c0) for r0, c0 in water if ok[r0 : r0 + s, c0 : c0 + s].mean() >= p.chip_min_valid]
        counts["candidates"] += len(cands)
        if len(cands) > p.unlabeled_per_date:
            rng = np.random.default_rng([p.seed, int(cube.local_days[t]) + 10**6])
            pick = np.sort(rng.choice(len(cands), p.unlabeled_per_date, replace=False))
            cands = [cands[i] for i in pick]
        counts["drawn"] += len(cands)
        day = str(np.datetime64(int(cube.local_days[t]), "D")).replace("-", "")
        for r0, c0 in cands:
            steps = history(cube, t, r0, c0, p)
            if steps is None:
                counts["short_history"] += 1
                continue
            specs.append(
                ChipSpec(
                    id=f"u_{day}_r{r0:04d}_c{c0:04d}",
                    kind="unlabeled",
                    steps=steps,
                    r0=r0,
                    c0=c0,
                    future=future_step(cube, t, r0, c0, p),
                )
            )
    return specs, counts


def extract(cube: Cube, specs: list[ChipSpec], reader: object, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(chips (N, T, C, H, W), future (N, C, H, W)) float32, read slice by slice."""
    n = len(specs)
    t_len = len(specs[0].steps) if specs else 1
    nb = cube.wavelengths.size
    chips = np.full((n, t_len, nb, size, size), np.nan, np.float32)
    fut = np.full((n, nb, size, size), np.nan, np.float32)
    jobs: list[tuple[int, int, int]] = []  # (time index, chip, step or -1 for future)
    for i, sp in enumerate(specs):
        jobs += [(t, i, k) for k, t in enumerate(sp.steps)]
        if sp.future >= 0:
            jobs.append((sp.future, i, -1))
    for t, i, k in sorted(jobs):
        sp = specs[i]
        box = reader.box(t, sp.r0, sp.r0 + size, sp.c0, sp.c0 + size)  # type: ignore[attr-defined]
        if k >= 0:
            chips[i, k] = box
        else:
            fut[i] = box
    return chips, fut
