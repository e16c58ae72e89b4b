"""The per-sensor slice factories of a cube build: a template, an encoding, one lazy slice per day.

:func:`spectm.cube.build.build_cube` drives the store (which days, in which order, with
which attributes); a builder only knows how to make one sensor's data: PACE here, Sentinel-2
in :mod:`spectm.cube.s2_cube`.
"""

from __future__ import annotations

from datetime import date

import dask.array as da
import numpy as np
import xarray as xr

from spectm.aoi import AOI
from spectm.cube import catalog
from spectm.cube.pace_cube import (
    PACE_VAR_ATTRS,
    PaceSettings,
    grid_coords,
    pace_encoding,
    pace_slice,
    probe_wavelengths,
)
from spectm.cube.regrid import SwathResampler
from spectm.cube.results import SensorResult
from spectm.cube.s2_cube import S2Builder
from spectm.cube.template import TIME_ENCODING, finish_template


class Builder:
    """Per-sensor slice factory (template, encoding, lazy slice)."""

    def template(self, days: list[date], by_day: dict) -> xr.Dataset: ...
    def encoding(self) -> dict: ...
    def slice(self, day: date, items: list) -> tuple[xr.Dataset, list[str]]: ...


def make_builder(
    sensor: str,
    aoi: AOI,
    gb: object,
    settings: dict,
    scan: catalog.CatalogScan,
    pace_chunks: dict | None,
    s2_chunk: int | None,
    out: SensorResult,
) -> Builder:
    if sensor == "pace":
        return PaceBuilder(aoi, gb, settings, scan, pace_chunks)

    return S2Builder(aoi, gb, settings, scan, s2_chunk, out)


class PaceBuilder(Builder):
    def __init__(self, aoi: AOI, gb: object, settings: dict, scan: catalog.CatalogScan, chunks: dict | None) -> None:

        self.gb = gb
        self.aoi = aoi
        self.resampler = SwathResampler(gb, settings["radius_m"])  # type: ignore[arg-type]
        self.settings = PaceSettings(tuple(settings["flags"]), settings["radius_m"], settings["with_unc"], chunks)
        first = [it for items in scan.by_day.values() for it in items]
        self.wavelength = probe_wavelengths(first)

    def template(self, days: list[date], by_day: dict) -> xr.Dataset:

        ny, nx = self.gb.shape  # type: ignore[attr-defined]
        nb, nt = len(self.wavelength), len(days)
        t = np.array([catalog.overpass_time(d, by_day[d]) for d in days])
        data = {
            "rrs": (
                ("time", "wavelength", "y", "x"),
                da.zeros((nt, nb, ny, nx), dtype=np.float32, chunks=(1, nb, ny, nx)),
            ),
            "valid_count": (("time", "y", "x"), da.zeros((nt, ny, nx), dtype=np.uint8, chunks=(1, ny, nx))),
        }
        if self.settings.with_unc:
            data["rrs_unc"] = (
                ("time", "wavelength", "y", "x"),
                da.zeros((nt, nb, ny, nx), dtype=np.float32, chunks=(1, nb, ny, nx)),
            )
        ds = xr.Dataset(data, coords=grid_coords(self.gb) | {"time": t, "wavelength": self.wavelength})  # type: ignore[arg-type]
        return finish_template(ds, self.aoi, PACE_VAR_ATTRS)

    def encoding(self) -> dict:

        ny, nx = self.gb.shape  # type: ignore[attr-defined]
        return pace_encoding(len(self.wavelength), ny, nx, self.settings.with_unc) | TIME_ENCODING

    def slice(self, day: date, items: list) -> tuple[xr.Dataset, list[str]]:

        return pace_slice(day, items, self.resampler, self.wavelength, self.settings)


__all__ = ["Builder", "PaceBuilder", "make_builder"]
