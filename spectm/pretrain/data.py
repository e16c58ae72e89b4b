"""The chips store (``features/<name>/chips.zarr``) as a torch ``Dataset``.

Contract (docs/data-layout.md, "features/<name>/"): Zarr v3, ``consolidated=False``;
``chips`` float32 (chip, time, band, y, x) with NaN = invalid; coords ``wavelength``
(band, nm), ``chip_date`` (chip, time), ``chip`` ids, ``split`` (train/val/test),
``station``, ``x0``/``y0``; optional 8-day-ahead target either as ``future`` (chip, band,
y, x) or as ``future_chip`` (chip, int; -1 = none), the index of another chip in the
same store whose *last* time step is the target.

Random access: training draws chips in random order, and reading one zarr chunk per
sample is slow (xbatcher #252). So a store smaller than ``max_in_memory_bytes`` (default
2 GiB) is read into memory *once*, in whole contiguous blocks, before the DataLoader
forks its workers (the pages are shared copy-on-write). A larger store is read per
sample from the zarr array, opened lazily in each worker; write it chunked along
``chip`` only (the join stage and :func:`write_chips_store` do) so one sample is one
small read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch.utils.data import Dataset

from spectm.errors import DataNotFoundError, SchemaError

SPLITS = ("train", "val", "test", "all")
REQUIRED_COORDS = ("wavelength", "chip_date", "split")


@dataclass
class ChipArrays:
    """Everything a dataset needs, in memory (the in-memory constructor's input)."""

    chips: np.ndarray  # (N, T, C, H, W) float32
    wavelengths: np.ndarray  # (C,)
    days: np.ndarray  # (N, T) days relative to the last time step (0 = last)
    future: np.ndarray | None = None  # (N, C, H, W)
    ids: np.ndarray | None = None  # (N,) global chip index (seeds the masks)


class ChipDataset(Dataset):
    """Samples ``{"x": (T,C,H,W), "days": (T,), "future": (C,H,W), "has_future", "index"}``.

    ``x`` and ``future`` keep NaN for invalid pixels (the model masks them); ``index`` is
    the chip's position in the whole store, used to seed its masks reproducibly.
    """

    def __init__(
        self,
        arrays: ChipArrays,
        *,
        zarr_path: Path | None = None,
        rows: np.ndarray | None = None,
        future_rows: np.ndarray | None = None,
    ) -> None:
        self._a = arrays
        self.wavelengths = np.asarray(arrays.wavelengths, dtype=np.float32)
        self._zarr_path = zarr_path  # set when chips are read lazily per sample
        self._rows = rows  # store rows of this split (lazy mode)
        self._future_rows = future_rows  # lazy mode with future_chip: store row of the target
        self._zarr: Any = None
        n = len(arrays.days)
        self.ids = arrays.ids if arrays.ids is not None else np.arange(n)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        chips: np.ndarray,
        wavelengths: np.ndarray | list[float],
        days: np.ndarray | None = None,
        future: np.ndarray | None = None,
    ) -> ChipDataset:
        """In-memory dataset (tests, notebooks). ``days`` defaults to 8-day steps ending at 0."""
        chips = np.asarray(chips, dtype=np.float32)
        if chips.ndim != 5:
            raise SchemaError(
                f"chips must be (chip, time, band, y, x), got shape {chips.shape}", "add the missing axes"
            )
        if chips.shape[2] != len(wavelengths):
            raise SchemaError(
                f"{chips.shape[2]} bands but {len(wavelengths)} wavelengths", "pass one wavelength per band"
            )
        n, t = chips.shape[:2]
        if days is None:
            days = np.broadcast_to(8.0 * (np.arange(t) - (t - 1)), (n, t)).copy()
        fut = None if future is None else np.asarray(future, dtype=np.float32)
        return cls(ChipArrays(chips, np.asarray(wavelengths), np.asarray(days, np.float32), fut))

    @classmethod
    def from_zarr(cls, path: Path | str, split: str = "train", max_in_memory_bytes: int = 2 << 30) -> ChipDataset:
        """Open a chips store; keep the rows of ``split`` (``"all"`` for every chip)."""
        path = Path(path)
        if split not in SPLITS:
            raise SchemaError(f"unknown split '{split}'", f"use one of {', '.join(SPLITS)}")
        if not (path / "zarr.json").exists():
            raise DataNotFoundError(
                f"no chips store at {path}",
                "run `spectm join` first, pass --chips PATH, or make synthetic chips with `spectm train synth-chips`",
            )
        try:
            ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
        except Exception as exc:  # zarr raises many types for a damaged store
            raise SchemaError(
                f"cannot open chips store {path}: {exc}", "rewrite it with `spectm join --force`"
            ) from None
        missing = [v for v in ("chips", *REQUIRED_COORDS) if v not in ds.variables]
        if missing:
            raise SchemaError(
                f"chips store {path} lacks {missing}", "see docs/data-layout.md, section features/<name>/"
            )
        if ds["chips"].dims != ("chip", "time", "band", "y", "x"):
            raise SchemaError(
                f"chips dims are {ds['chips'].dims}, expected (chip, time, band, y, x)",
                "rewrite the store following docs/data-layout.md",
            )
        split_all = np.array([str(s) for s in ds["split"].values.tolist()])
        rows = np.arange(ds.sizes["chip"]) if split == "all" else np.flatnonzero(split_all == split)
        dates = ds["chip_date"].values.astype("datetime64[ns]")[rows]
        if np.isnat(dates).any():
            raise SchemaError(f"chip_date has missing dates in {path}", "every chip time step needs a date")
        days = ((dates - dates[:, -1:]) / np.timedelta64(1, "D")).astype(np.float32)
        wl = ds["wavelength"].values.astype(np.float32)
        nbytes = rows.size * int(np.prod(ds["chips"].shape[1:])) * 4
        in_memory = nbytes <= max_in_memory_bytes
        future: np.ndarray | None = None
        future_rows: np.ndarray | None = None
        if in_memory:
            chips = _read_rows(ds["chips"], rows)
            if "future" in ds:
                future = _read_rows(ds["future"], rows)
            elif "future_chip" in ds:
                fr = ds["future_chip"].values.astype(np.int64)[rows]
                last = _read_rows(ds["chips"].isel(time=-1), np.where(fr >= 0, fr, 0))
                last[fr < 0] = np.nan
                future = last
            arrays = ChipArrays(chips, wl, days, future, rows)
            return cls(arrays)
        if "future_chip" in ds:
            future_rows = ds["future_chip"].values.astype(np.int64)[rows]
        shape = (rows.size, *ds["chips"].shape[1:])
        arrays = ChipArrays(np.empty((0, *shape[1:]), np.float32), wl, days, None, rows)
        has_future_var = "future" in ds
        obj = cls(arrays, zarr_path=path, rows=rows, future_rows=future_rows)
        obj._has_future_var = has_future_var
        obj._shape = shape
        return obj

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._a.days)

    @property
    def shape(self) -> tuple[int, ...]:
        """(N, T, C, H, W)."""
        return getattr(self, "_shape", self._a.chips.shape)

    def _lazy(self) -> Any:
        if self._zarr is None:
            import zarr

            self._zarr = zarr.open_group(self._zarr_path, mode="r")
        return self._zarr

    def __getitem__(self, i: int) -> dict[str, Any]:
        if self._zarr_path is None:
            x = self._a.chips[i]
            fut = self._a.future[i] if self._a.future is not None else None
        else:
            g = self._lazy()
            row = int(self._rows[i])
            x = np.asarray(g["chips"][row], dtype=np.float32)
            fut = None
            if getattr(self, "_has_future_var", False):
                fut = np.asarray(g["future"][row], dtype=np.float32)
            elif self._future_rows is not None and self._future_rows[i] >= 0:
                fut = np.asarray(g["chips"][int(self._future_rows[i]), -1], dtype=np.float32)
        has_future = fut is not None and bool(np.isfinite(fut).any())
        if fut is None:
            fut = np.full(x.shape[1:], np.nan, dtype=np.float32)
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x)),
            "days": torch.from_numpy(np.asarray(self._a.days[i], dtype=np.float32)),
            "future": torch.from_numpy(np.ascontiguousarray(fut)),
            "has_future": torch.tensor(has_future),
            "index": torch.tensor(int(self.ids[i]), dtype=torch.int64),
        }

    def band_stats(self, max_chips: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Per-band NaN-aware mean and std over (up to ``max_chips`` evenly spaced) chips."""
        n = len(self)
        if n == 0:
            raise DataNotFoundError("the training split has no chips", "check the store's 'split' labels")
        pick = np.unique(np.linspace(0, n - 1, min(n, max_chips)).astype(int))
        x = np.stack([self[int(i)]["x"].numpy() for i in pick])  # (n, T, C, H, W)
        x = np.moveaxis(x, 2, 0).reshape(x.shape[2], -1)
        mean = np.nanmean(x, axis=1)
        std = np.nanstd(x, axis=1)
        bad = ~np.isfinite(mean)
        if bad.any():
            raise SchemaError(
                f"{int(bad.sum())} band(s) have no valid pixel in the training chips",
                "drop those bands from the store or add more chips",
            )
        return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


def _read_rows(var: xr.DataArray, rows: np.ndarray) -> np.ndarray:
    """Read ``rows`` along ``chip`` in contiguous runs (one read per run, not per chip)."""
    if rows.size == 0:
        return np.empty((0, *var.shape[1:]), np.float32)
    out = np.empty((rows.size, *var.shape[1:]), np.float32)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    start = 0
    for run in np.split(rows, breaks):
        sel = var.isel(chip=slice(int(run[0]), int(run[-1]) + 1))
        out[start : start + run.size] = np.asarray(sel.values, dtype=np.float32)
        start += run.size
    return out
