"""Pixel windows on a cube grid: locate a point, cut a window, aggregate its valid pixels.

Pure NumPy on one time slice, so the match-up arithmetic is testable on hand-built arrays.

Decisions (docs/features.md):

* a **pixel is valid** when every band is finite. The cube already turns flagged, filled and
  out-of-range values into NaN; a pixel with some bands missing is not a full spectrum, and
  mixing pixels with different band sets would make the aggregated spectrum inconsistent;
* the **valid fraction** is valid pixels / all pixels of the window (land pixels count as
  invalid): a 3×3 window at 0.5 needs 5 of 9 pixels, so the median is a majority value;
* **aggregation** is the median (robust to a stray cloud edge or glint pixel) with the
  interquartile range as spread, or the mean with the population standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """A north-up grid of cell centres (``x`` ascending, ``y`` descending), metres."""

    x: np.ndarray
    y: np.ndarray

    @property
    def res(self) -> float:
        return float(self.x[1] - self.x[0]) if self.x.size > 1 else float(self.y[0] - self.y[1])

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.y.size), int(self.x.size)

    @property
    def left(self) -> float:
        return float(self.x[0]) - self.res / 2

    @property
    def top(self) -> float:
        return float(self.y[0]) + self.res / 2

    def locate(self, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, inside) of the cells holding points ``(px, py)``; row/col are -1 outside."""
        col = np.floor((np.asarray(px, float) - self.left) / self.res).astype(np.int64)
        row = np.floor((self.top - np.asarray(py, float)) / self.res).astype(np.int64)
        ny, nx = self.shape
        inside = (row >= 0) & (row < ny) & (col >= 0) & (col < nx) & np.isfinite(px) & np.isfinite(py)
        return np.where(inside, row, -1), np.where(inside, col, -1), inside

    def window_bounds(self, row: int, col: int, size: int) -> tuple[int, int, int, int] | None:
        """``(r0, r1, c0, c1)`` (end-exclusive) of the ``size``×``size`` window centred on a cell, or
        None when it reaches past the grid edge."""
        h = size // 2
        r0, r1, c0, c1 = row - h, row + h + 1, col - h, col + h + 1
        ny, nx = self.shape
        if r0 < 0 or c0 < 0 or r1 > ny or c1 > nx:
            return None
        return r0, r1, c0, c1

    def chip_origin(self, row: int, col: int, size: int) -> tuple[int, int]:
        """Upper-left cell of a ``size``×``size`` chip holding (row, col) at ``size // 2`` when
        possible, shifted inwards at the grid edge so the chip stays whole (raises if the grid
        is smaller than the chip)."""
        ny, nx = self.shape
        if size > ny or size > nx:
            raise ValueError(f"chip of {size} cells does not fit a {ny}×{nx} grid")
        r0 = min(max(row - size // 2, 0), ny - size)
        c0 = min(max(col - size // 2, 0), nx - size)
        return r0, c0

    def corner(self, r0: int, c0: int) -> tuple[float, float]:
        """(x0, y0): upper-left corner of cell (r0, c0), metres."""
        return self.left + c0 * self.res, self.top - r0 * self.res

    def centre(self, row: int, col: int) -> tuple[float, float]:
        return float(self.x[col]), float(self.y[row])


def valid_pixels(block: np.ndarray) -> np.ndarray:
    """(y, x) bool: every band finite. ``block`` is (band, y, x)."""
    return np.isfinite(block).all(axis=0)


@dataclass
class Aggregate:
    """The aggregated spectrum of a window's valid pixels."""

    value: np.ndarray  # (band,)
    spread: np.ndarray  # (band,) IQR (median) or std (mean)
    n_valid: int
    n_window: int

    @property
    def valid_fraction(self) -> float:
        return self.n_valid / self.n_window if self.n_window else 0.0


def aggregate_pixels(pixels: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate ``pixels`` (n, k) over n: median+IQR or mean+std (ddof 0). Needs n ≥ 1."""
    p = np.asarray(pixels, dtype=np.float64)
    if p.shape[0] == 0:
        raise ValueError("no valid pixels to aggregate")
    if how == "median":
        q25, q50, q75 = np.percentile(p, [25, 50, 75], axis=0)
        return q50, q75 - q25
    if how == "mean":
        return p.mean(axis=0), p.std(axis=0)
    raise ValueError(f"unknown aggregation {how!r}: use median or mean")


def aggregate_window(block: np.ndarray, how: str) -> Aggregate:
    """Aggregate the valid pixels of a (band, y, x) window."""
    ok = valid_pixels(block)
    n_window = int(ok.size)
    n_valid = int(ok.sum())
    nb = block.shape[0]
    if n_valid == 0:
        nan = np.full(nb, np.nan)
        return Aggregate(nan, nan.copy(), 0, n_window)
    pix = block[:, ok].T  # (n_valid, band)
    value, spread = aggregate_pixels(pix, how)
    return Aggregate(value, spread, n_valid, n_window)
