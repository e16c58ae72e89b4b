"""Fixtures for the predict tests: the join tests' tiny cube and a regressor test double."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.join.helpers import WL, CubeSpec, base_rrs, write_cube


@dataclass
class RatioRegressor:
    """Test double of :class:`~spectm.predict.regressor.ChipPredictor`: per pixel of the last step,
    ``log10 MC = 2 · Rrs(709) / Rrs(665) − 1`` (NaN where a band is NaN); records its calls."""

    chip_size: int = 4
    chip_time: int = 1
    horizon: str = "current"
    lead_days: int = 8
    sensor: str = "pace"
    wavelengths: np.ndarray = field(default_factory=lambda: WL.copy())
    calls: list[tuple[tuple[int, ...], np.ndarray]] = field(default_factory=list)

    def predict_chips(self, chips: np.ndarray, days: np.ndarray) -> np.ndarray:
        assert chips.dtype == np.float32 and chips.ndim == 5 and days.shape == chips.shape[:2]
        self.calls.append((chips.shape, days.copy()))
        last = chips[:, -1]
        i665, i709 = int(np.argmin(np.abs(self.wavelengths - 665))), int(np.argmin(np.abs(self.wavelengths - 709)))
        out = 2.0 * last[:, i709] / last[:, i665] - 1.0
        return np.where(np.isfinite(last).all(axis=1), out, np.nan).astype(np.float32)


def truth(rrs: np.ndarray) -> np.ndarray:
    """What RatioRegressor predicts for a (band, y, x) slice."""
    return 2.0 * rrs[5] / rrs[3] - 1.0


@pytest.fixture
def cube_dir(data_dir: Path) -> tuple[Path, np.ndarray]:
    """Five days (Aug 1–5, 2024), land at (2, 2); day 3 clouded over rows 0–3 × cols 0–3 and
    most of rows 0–3 × cols 4–7 (so one tile has no valid cell and one too few)."""
    r = base_rrs(5)
    r[:, :, 2, 2] = np.nan
    r[2, :, 0:4, 0:4] = np.nan
    keep = r[2, :, 0, 7].copy()
    r[2, :, 0:4, 4:8] = np.nan
    r[2, :, 0, 7] = keep  # 1 of 16 cells left valid in tile (0, 4)
    write_cube(data_dir, CubeSpec(days=[f"2024-08-0{d}" for d in range(1, 6)], rrs=r))
    return data_dir, r
