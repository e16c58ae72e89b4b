"""Fixtures for the join tests (builders in helpers.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .helpers import CubeSpec, base_rrs, write_cube


@pytest.fixture
def tiny(data_dir: Path) -> Path:
    """A 5-day cube (Aug 1–5, 2024) over open water, one land cell, and a ring of samples."""
    r = base_rrs(5)
    r[:, :, 2, 2] = np.nan  # (2, 2) is land: never valid
    write_cube(data_dir, CubeSpec(days=[f"2024-08-0{d}" for d in range(1, 6)], rrs=r))
    return data_dir
