"""Chips written block by block equal chips written at once (memory flat in the number of chips)."""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import numpy as np
import xarray as xr

from spectm.join.store import write_chips


def _ds(chips: object, fut: object, n: int) -> xr.Dataset:
    return xr.Dataset(
        {
            "chips": (("chip", "time", "band", "y", "x"), chips),
            "future": (("chip", "band", "y", "x"), fut),
        },
        coords={"chip": np.array([f"c{i}" for i in range(n)])},
    )


def test_blocks_equal_one_write(tmp_path: Path) -> None:
    n = 53
    rng = np.random.default_rng(0)
    chips = rng.random((n, 1, 3, 4, 4)).astype(np.float32)
    fut = rng.random((n, 3, 4, 4)).astype(np.float32)
    write_chips(_ds(chips, fut, n), tmp_path / "a.zarr")
    calls: list[tuple[int, int]] = []

    def fill(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append((a, b))
        return chips[a:b], fut[a:b]

    lazy = _ds(
        dsa.full(chips.shape, np.nan, dtype=np.float32, chunks=(16, 1, 3, 4, 4)),
        dsa.full(fut.shape, np.nan, dtype=np.float32, chunks=(16, 3, 4, 4)),
        n,
    )
    write_chips(lazy, tmp_path / "b.zarr", fill=fill, chips_per_block=32)
    assert calls == [(0, 32), (32, 53)]
    a = xr.open_zarr(tmp_path / "a.zarr", consolidated=False).load()
    b = xr.open_zarr(tmp_path / "b.zarr", consolidated=False).load()
    xr.testing.assert_identical(a, b)
