"""Tiling a cube date into the chips a regressor expects.

spectm's choices (docs/predict.md):

* **Tiles** are ``chip_size`` squares laid from the grid's upper-left corner every ``stride``
  cells (``chip_size − overlap``; the default overlap is half a chip); where the grid does not
  end on a whole stride, one more row (column) of tiles is aligned to the bottom (right) edge,
  so every cell is covered. Overlapping predictions are **blended** in the mosaic with a
  separable sine window (:func:`blend_window`): a cell near a tile's edge counts less than one
  near its centre, which hides the seams a chip-level encoder leaves between tiles (the
  TerraTorch/torchgeo tiled-inference practice).
* A tile is **predicted** on a date when it holds water, at least ``min_valid`` of its water
  cells are valid on that date, and it has the regressor's ``chip_time − 1`` history steps,
  picked exactly as the join stage picks them (:func:`spectm.join.chips.history`).
  Otherwise it is counted under one reason: ``no_valid`` (every water cell masked: cloud,
  glint, no swath), ``too_few_valid``, ``short_history``. Tiles without water are counted
  once as ``land``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from spectm.config import JoinSection
from spectm.join.chips import ChipSpec, history
from spectm.join.inputs import Cube

SKIP_REASONS = ("no_valid", "too_few_valid", "short_history")


def tile_origins(ny: int, nx: int, size: int, stride: int | None = None) -> list[tuple[int, int]]:
    """Upper-left cells of the tiles covering an ``ny`` × ``nx`` grid (module docstring)."""
    stride = size if stride is None else stride
    if size > ny or size > nx:
        raise ValueError(f"chip of {size} cells does not fit a {ny}×{nx} grid")
    if not 1 <= stride <= size:
        raise ValueError(f"stride {stride} must be between 1 and the chip size {size}")

    def starts(n: int) -> list[int]:
        s = list(range(0, n - size + 1, stride))
        if s[-1] + size < n:
            s.append(n - size)
        return s

    return [(r0, c0) for r0 in starts(ny) for c0 in starts(nx)]


@dataclass
class DatePlan:
    """The chips to predict on one cube date and the tiles left out, by reason."""

    t: int
    specs: list[ChipSpec] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))


@dataclass
class Tiler:
    """Plans the chips of each date for one cube and one regressor geometry."""

    cube: Cube
    params: JoinSection  # chip_size, chip_time, chip_lookback_days, chip_min_valid (history rule)
    min_valid: float
    stride: int | None = None  # None: chip_size (no overlap)
    water_tiles: list[tuple[int, int]] = field(init=False)
    n_tiles: int = field(init=False)
    n_water: list[int] = field(init=False)  # water cells of each water tile (the same on every date)

    def __post_init__(self) -> None:
        s = self.params.chip_size
        origins = tile_origins(*self.cube.grid.shape, s, self.stride)
        self.n_tiles = len(origins)
        counts = [int(self.cube.water[r0 : r0 + s, c0 : c0 + s].sum()) for r0, c0 in origins]
        self.water_tiles = [o for o, n in zip(origins, counts, strict=True) if n]
        self.n_water = [n for n in counts if n]

    @property
    def n_land(self) -> int:
        return self.n_tiles - len(self.water_tiles)

    def plan(self, t: int) -> DatePlan:
        s = self.params.chip_size
        out = DatePlan(t)
        ok = self.cube.valid[t] & self.cube.water
        for (r0, c0), n_water in zip(self.water_tiles, self.n_water, strict=True):
            n_ok = int(ok[r0 : r0 + s, c0 : c0 + s].sum())
            if n_ok == 0:
                out.skipped["no_valid"] += 1
                continue
            if n_ok < self.min_valid * n_water:
                out.skipped["too_few_valid"] += 1
                continue
            steps = history(self.cube, t, r0, c0, self.params)
            if steps is None:
                out.skipped["short_history"] += 1
                continue
            out.specs.append(
                ChipSpec(id=f"p_t{t}_r{r0:04d}_c{c0:04d}", kind="predict", steps=steps, r0=r0, c0=c0, future=-1)
            )
        return out


def batches(specs: list[ChipSpec], size: int) -> Iterator[list[ChipSpec]]:
    for i in range(0, len(specs), size):
        yield specs[i : i + size]


def chip_days(cube: Cube, specs: list[ChipSpec]) -> np.ndarray:
    """(N, T) days of each step relative to the last step, from the cube times (as the chips
    store's ``chip_date`` gives them to the model)."""
    steps = np.array([sp.steps for sp in specs], dtype=np.int64)
    t = cube.times[steps]
    return ((t - t[:, -1:]) / np.timedelta64(1, "D")).astype(np.float32)


def cut_chips(cube: Cube, specs: list[ChipSpec], size: int, bands: np.ndarray) -> np.ndarray:
    """(N, T, C, H, W) float32 chips of ``specs`` (bands ``bands`` of the cube), NaN = invalid.

    One read per distinct time step of the batch, of the strip of the grid the batch spans
    (tiles come in row-major order, so a batch is a few tile rows) — not one read per chip,
    which is what makes a 20 m Sentinel-2 grid with 10⁵ tiles per date tractable.
    """
    steps = np.array([sp.steps for sp in specs], dtype=np.int64)  # (N, T)
    r0 = np.array([sp.r0 for sp in specs])
    c0 = np.array([sp.c0 for sp in specs])
    rl, rh, cl, ch = int(r0.min()), int(r0.max()) + size, int(c0.min()), int(c0.max()) + size
    out = np.full((len(specs), steps.shape[1], bands.size, size, size), np.nan, np.float32)
    for t in np.unique(steps):
        block = np.asarray(cube.data.isel(time=int(t), y=slice(rl, rh), x=slice(cl, ch)).values, dtype=np.float32)[
            bands
        ]
        for i, k in zip(*np.nonzero(steps == t), strict=True):
            out[i, k] = block[:, r0[i] - rl : r0[i] - rl + size, c0[i] - cl : c0[i] - cl + size]
    return out


def blend_window(size: int) -> np.ndarray:
    """(size, size) weights ``sin(π (i + ½) / size) · sin(π (j + ½) / size)``: highest at the tile
    centre, small but never zero at its edge (a cell covered by one tile keeps its value)."""
    w = np.sin(np.pi * (np.arange(size) + 0.5) / size)
    return np.outer(w, w)
