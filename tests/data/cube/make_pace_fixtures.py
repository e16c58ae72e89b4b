"""Write the small synthetic PACE OCI L2 AOP granules used by tests/cube.

Run from the repository root: ``.venv/bin/python tests/data/cube/make_pace_fixtures.py``.
Deterministic (seeded). The layout copies the real v3.1 subset
(``PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc``): groups, dims, int16
packing, ``_FillValue``, valid range, ``l2_flags`` attributes. The v3.2 form moves the
band axis of Rrs to a float ``wavelength`` dim/coordinate in ``geophysical_data`` and
renames the 286-band dim of ``sensor_band_parameters`` to ``wavelength``.
Values are synthetic (a smooth spectrum per pixel), footprints are over western
Lake Erie near Toledo (a 40 × 36 pixel swath piece, ~1.1 km pixels, tilted 12°).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from spectm.cube.pace_reader import oci_centres  # noqa: E402

FLAG_NAMES = (
    "ATMFAIL LAND PRODWARN HIGLINT HILT HISATZEN COASTZ SPARE STRAYLIGHT CLDICE COCCOLITH TURBIDW "
    "HISOLZEN SPARE LOWLW CHLFAIL NAVWARN ABSAER SPARE MAXAERITER MODGLINT CHLWARN ATMWARN OPSHAL "
    "SEAICE NAVFAIL FILTER SPARE BOWTIEDEL HIPOL PRODFAIL SPARE"
)
FLAG_MASKS = np.array([np.int32(np.uint32(1 << i).astype(np.int32)) for i in range(32)], dtype=np.int32)
NOMINAL = [w for w in sorted(oci_centres()) if 346 <= w <= 588 or 613 <= w <= 719]
assert len(NOMINAL) == 172


def swath(t_offset_px: float, seed: int, lines: int = 40, pixels: int = 36) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lat0, lon0 = 41.55, -83.45
    li, pi = np.meshgrid(np.arange(lines) + t_offset_px, np.arange(pixels), indexing="ij")
    ang = np.radians(12.0)
    dy_km = li * 1.1 * np.cos(ang) - pi * 1.05 * np.sin(ang)
    dx_km = li * 1.1 * np.sin(ang) + pi * 1.05 * np.cos(ang)
    lat = lat0 + dy_km / 111.0
    lon = lon0 + dx_km / (111.0 * np.cos(np.radians(lat0)))
    wl = np.array([oci_centres()[w] for w in NOMINAL])
    chl = np.exp(2.5 + 0.6 * np.sin(li / 5.0 + seed) * np.cos(pi / 7.0))  # smooth: compresses well
    base = 0.002 + 0.004 * np.exp(-(((wl - 560.0) / 60.0) ** 2))
    spec = base[None, None, :] * (1 + 0.05 * np.log(chl)[..., None])
    spec += 0.0015 * np.exp(-(((wl - 709.0) / 8.0) ** 2))[None, None, :] * (chl[..., None] / 20.0)
    rrs = spec
    flags = np.zeros((lines, pixels), dtype=np.int64)
    flags[rng.random((lines, pixels)) < 0.10] |= 1 << 9  # CLDICE (filled at L2)
    flags[rng.random((lines, pixels)) < 0.08] |= 1 << 21  # CHLWARN (not filled)
    flags[rng.random((lines, pixels)) < 0.05] |= 1 << 11  # TURBIDW (not in the L3 mask)
    flags[:, :2] |= 1 << 1  # LAND along one edge (filled)
    return lat, lon, rrs, flags, wl


def pack(v: np.ndarray, scale: float, offset: float, lo: int, hi: int) -> np.ndarray:
    raw = np.round((v - offset) / scale)
    return np.clip(raw, -32767, 32767).astype(np.int16)


def write(path: Path, version: str, time_start: str, time_end: str, t_offset_px: float, seed: int) -> None:
    lat, lon, rrs, flags, wl = swath(t_offset_px, seed)
    raw = pack(rrs, 2e-6, 0.05, -30000, 25000)
    raw_unc = pack(np.abs(rrs) * 0.05 + 1e-4, 5e-8, 0.0015, -30000, 30000)
    filled = (flags & ((1 << 0) | (1 << 1) | (1 << 9) | (1 << 4))) != 0
    raw[filled] = -32767
    raw_unc[filled] = -32767
    raw[3, 5, 10] = 26000  # one out-of-valid-range value (> valid_max 25000)
    flags32 = flags.astype(np.uint32).astype(np.int32)
    band_dim = "wavelength_3d" if version == "3.1" else "wavelength"
    packed = {"_FillValue": np.int16(-32767), "valid_min": np.int16(-30000), "coordinates": "longitude latitude"}
    geo = xr.Dataset(
        {
            "Rrs": (
                ("number_of_lines", "pixels_per_line", band_dim),
                raw,
                {
                    **packed,
                    "valid_max": np.int16(25000),
                    "scale_factor": np.float32(2e-6),
                    "add_offset": np.float32(0.05),
                    "units": "sr^-1",
                    "long_name": "Remote sensing reflectance",
                },
            ),
            "Rrs_unc": (
                ("number_of_lines", "pixels_per_line", band_dim),
                raw_unc,
                {
                    **packed,
                    "valid_max": np.int16(30000),
                    "scale_factor": np.float32(5e-8),
                    "add_offset": np.float32(0.0015),
                    "units": "sr^-1",
                },
            ),
            "l2_flags": (
                ("number_of_lines", "pixels_per_line"),
                flags32,
                {
                    "long_name": "Level-2 Processing Flags",
                    "flag_masks": FLAG_MASKS,
                    "flag_meanings": FLAG_NAMES,
                    "valid_min": np.int32(-2147483648),
                    "valid_max": np.int32(2147483647),
                },
            ),
        }
    )
    if version == "3.2":
        geo = geo.assign_coords(wavelength=("wavelength", wl.astype(np.float32), {"units": "nm"}))
        geo["band_index"] = ("wavelength", np.arange(15, 15 + 172, dtype=np.int16))
    sbp_dim = "number_of_bands" if version == "3.1" else "wavelength"
    sbp = xr.Dataset(
        {
            "wavelength_3d": ("wavelength_3d", np.array(NOMINAL, dtype=np.int32), {"units": "nm"}),
            "vcal_gain": (sbp_dim, np.ones(10, dtype=np.float32)),
        }
    )
    if version == "3.1":
        sbp["wavelength"] = ("number_of_bands", np.arange(10, dtype=np.int32) + 315)
    nav = xr.Dataset(
        {
            "longitude": (
                ("number_of_lines", "pixels_per_line"),
                lon.astype(np.float32),
                {"_FillValue": np.float32(-999), "valid_min": np.float32(-180), "valid_max": np.float32(180)},
            ),
            "latitude": (
                ("number_of_lines", "pixels_per_line"),
                lat.astype(np.float32),
                {"_FillValue": np.float32(-999), "valid_min": np.float32(-90), "valid_max": np.float32(90)},
            ),
        }
    )
    root = xr.Dataset(
        attrs={
            "title": "OCI Level-2 Data AOP",
            "product_name": path.name,
            "processing_version": version,
            "processing_level": "L2",
            "cdm_data_type": "swath",
            "time_coverage_start": time_start,
            "time_coverage_end": time_end,
            "Conventions": "CF-1.8, ACDD-1.3",
            "comment": "SYNTHETIC spectm test fixture (tests/data/cube/make_pace_fixtures.py)",
        }
    )
    enc = {"zlib": True, "complevel": 4}
    root.to_netcdf(path, mode="w", engine="netcdf4")
    for name, ds in (("sensor_band_parameters", sbp), ("geophysical_data", geo), ("navigation_data", nav)):
        ds.to_netcdf(path, mode="a", group=name, engine="netcdf4", encoding={v: enc for v in ds.data_vars})


GRANULES = [
    # (stamp, version, start, end, along-track offset in pixels, seed)
    ("20240715T180512", "3.1", "2024-07-15T18:05:12.000Z", "2024-07-15T18:10:11.900Z", 0.0, 1),
    ("20240715T180512", "3.2", "2024-07-15T18:05:12.000Z", "2024-07-15T18:10:11.900Z", 0.0, 1),
    ("20240716T184011", "3.1", "2024-07-16T18:40:11.000Z", "2024-07-16T18:45:10.900Z", 2.5, 2),
    ("20240716T185011", "3.1", "2024-07-16T18:50:11.000Z", "2024-07-16T18:55:10.900Z", 6.0, 3),
    ("20240718T175000", "3.1", "2024-07-18T17:50:00.000Z", "2024-07-18T17:54:59.900Z", 1.0, 4),
]


def main() -> None:
    out = HERE / "pace"
    out.mkdir(exist_ok=True)
    for stamp, version, t0, t1, off, seed in GRANULES:
        name = f"PACE_OCI.{stamp}.L2.OC_AOP.V{version.replace('.', '_')}.nc"
        write(out / name, version, t0, t1, off, seed)
        print(out / name, (out / name).stat().st_size)


if __name__ == "__main__":
    main()
