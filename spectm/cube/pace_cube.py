"""PACE OCI time slices: the granules of one day → one lazily computed slice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dask
import dask.array as da
import numpy as np
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox

from spectm.cube.catalog import asset_path, overpass_time
from spectm.cube.flags import mask_bits
from spectm.cube.grid import cell_centres
from spectm.cube.pace_reader import NETCDF_LOCK, L2Granule, open_l2
from spectm.cube.regrid import GranuleGrid, SwathResampler, combine_day
from spectm.errors import BadInputError

# Inner chunks: one day, all bands, 64 × 64 cells (2.8 MB float32 raw). One time
# step per chunk keeps every slice write independent (kill safety, region writes);
# all bands in one chunk serves chip sampling (a model wants the whole spectrum).
PACE_CHUNK_YX = 64


@dataclass
class PaceSettings:
    flags: tuple[str, ...]
    radius_m: float
    with_unc: bool
    chunks: dict | None = None  # dask chunks used to open the granules (None: whole blocks)


def _regrid_one(path: str, resampler: SwathResampler, settings: PaceSettings) -> GranuleGrid:
    # netCDF-C and HDF5 are not thread-safe, and xarray locks only the data reads, not the
    # metadata reads of an open: two granules opened at once by two threads can crash the
    # process. The file work of a granule (open, read the block, release the files) is
    # therefore done under one process-wide lock; the search and gather run unlocked.
    with NETCDF_LOCK:
        g = open_l2(path, chunks=settings.chunks, with_unc=settings.with_unc)
        bits = mask_bits(settings.flags, g.flag_table)
        nb = len(g.wavelength)
        with dask.config.set(scheduler="synchronous"):  # already inside a task: no nested graph
            block = resampler.read_block(g, with_unc=settings.with_unc)
        del g  # the last references to the open files: closed here, under the lock
    return resampler.grid_block(block, bits, nb=nb, with_unc=settings.with_unc)


def _pick(result: tuple, i: int) -> np.ndarray:
    return result[i]


def pace_slice(
    day: date, items: list[pystac.Item], resampler: SwathResampler, wavelength: np.ndarray, settings: PaceSettings
) -> tuple[xr.Dataset, list[str]]:
    """One day as a lazy Dataset (time=1): one delayed task per granule, one to combine."""
    gb = resampler.geobox
    ny, nx = gb.shape
    nb = len(wavelength)
    parts = [dask.delayed(_regrid_one)(str(asset_path(it, "data")), resampler, settings) for it in items]
    combined = dask.delayed(combine_day)(parts)
    rrs = da.from_delayed(dask.delayed(_pick)(combined, 0), shape=(nb, ny, nx), dtype=np.float32)
    cnt = da.from_delayed(dask.delayed(_pick)(combined, 1), shape=(ny, nx), dtype=np.uint8)
    data = {
        "rrs": (("time", "wavelength", "y", "x"), rrs[None]),
        "valid_count": (("time", "y", "x"), cnt[None]),
    }
    if settings.with_unc:
        unc = da.from_delayed(dask.delayed(_pick)(combined, 2), shape=(nb, ny, nx), dtype=np.float32)
        data["rrs_unc"] = (("time", "wavelength", "y", "x"), unc[None])
    t = np.array([overpass_time(day, items)])
    versions = sorted({str(it.properties.get("pace:version", "")) for it in items} - {""})
    ds = xr.Dataset(data, coords=grid_coords(gb) | {"time": t, "wavelength": wavelength})
    ds["processing_version"] = ("time", np.array([",".join(versions) or "unknown"], dtype=object))
    return ds, [it.id for it in items]


def grid_coords(gb: GeoBox) -> dict:
    x, y = cell_centres(gb)
    return {
        "x": (
            "x",
            x,
            {
                "standard_name": "projection_x_coordinate",
                "long_name": "x coordinate of projection",
                "units": "m",
                "axis": "X",
            },
        ),
        "y": (
            "y",
            y,
            {
                "standard_name": "projection_y_coordinate",
                "long_name": "y coordinate of projection",
                "units": "m",
                "axis": "Y",
            },
        ),
    }


def probe_wavelengths(items: list[pystac.Item]) -> np.ndarray:
    """Band centres of the cube: read from the first granule that opens."""
    errors = []
    for it in items:
        try:
            g: L2Granule = open_l2(asset_path(it, "data"))
            return np.asarray(g.wavelength, dtype=np.float64)
        except BadInputError as exc:
            errors.append(str(exc))
    raise BadInputError(
        f"none of {len(items)} PACE granules could be opened: {errors[:2]}",
        "re-download them with 'spectm fetch --force'",
    )


def pace_encoding(nb: int, ny: int, nx: int, with_unc: bool) -> dict:
    cy, cx = min(PACE_CHUNK_YX, ny), min(PACE_CHUNK_YX, nx)
    enc = {
        "rrs": {"chunks": (1, nb, cy, cx), "dtype": "float32"},
        "valid_count": {"chunks": (1, cy, cx), "dtype": "uint8"},
    }
    if with_unc:
        enc["rrs_unc"] = {"chunks": (1, nb, cy, cx), "dtype": "float32"}
    return enc


RRS_STANDARD_NAME = "surface_ratio_of_upwelling_radiance_emerging_from_sea_water_to_downwelling_radiative_flux_in_air"

PACE_VAR_ATTRS = {
    "rrs": {
        "long_name": "Remote sensing reflectance",
        "standard_name": RRS_STANDARD_NAME,
        "units": "sr-1",
        "coverage_content_type": "physicalMeasurement",
        "comment": "PACE OCI L2 AOP Rrs, l2_flags-masked, nearest valid pixel within the search radius; "
        "mean of the day's granules",
    },
    # the uncertainty is the Rrs standard error (CF standard-name modifier, CF 1.8 Appendix C);
    # the count is the CF standard name number_of_observations (cells averaged into the mean)
    "rrs_unc": {
        "long_name": "Uncertainty in remote sensing reflectance",
        "units": "sr-1",
        "standard_name": f"{RRS_STANDARD_NAME} standard_error",
        "coverage_content_type": "qualityInformation",
    },
    "valid_count": {
        "long_name": "Number of granules with a valid pixel in the cell this day",
        "units": "1",
        "standard_name": "number_of_observations",
        "coverage_content_type": "auxiliaryInformation",
    },
    "wavelength": {"long_name": "Band centre wavelength", "units": "nm", "standard_name": "radiation_wavelength"},
}
