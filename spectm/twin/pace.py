"""Simulate and write one PACE OCI L2 AOP v3.1 granule (subset to the region).

The file replays the real file's structure (:mod:`spectm.twin.pace_template`): the
same groups, dimensions, variables, dtypes, attributes and int16 encodings, with
``number_of_bands``/``number_of_reflective_bands`` = 286 as in full real files. Pixels
flagged ATMFAIL, LAND, CLDICE or HILT are written as ``_FillValue`` in every
geophysical variable, as l2gen does (``mask_names``). The history attribute says the
file is a spectm twin granule. Three attributes that the real *subset* carries only
because xarray rewrote it (``day:dtype``, ``msec:dtype``, ``time:calendar``) are
not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import shapely

from spectm.provenance import atomic_path
from spectm.twin import observe
from spectm.twin.fields import FieldModel, Grid
from spectm.twin.launch import as_if_flown
from spectm.twin.optics import (
    ModelParams,
    band_rrs,
    make_bandset,
    oci_bandpass,
    oci_bandset,
    oci_rrs_bands,
    pure_water,
)
from spectm.twin.pace_template import decode_attr, load_template
from spectm.twin.sun import solar_position
from spectm.twin.swath import Swath, make_swath

FLAG_NAMES = [
    "ATMFAIL",
    "LAND",
    "PRODWARN",
    "HIGLINT",
    "HILT",
    "HISATZEN",
    "COASTZ",
    "SPARE",
    "STRAYLIGHT",
    "CLDICE",
    "COCCOLITH",
    "TURBIDW",
    "HISOLZEN",
    "SPARE",
    "LOWLW",
    "CHLFAIL",
    "NAVWARN",
    "ABSAER",
    "SPARE",
    "MAXAERITER",
    "MODGLINT",
    "CHLWARN",
    "ATMWARN",
    "OPSHAL",
    "SEAICE",
    "NAVFAIL",
    "FILTER",
    "SPARE",
    "BOWTIEDEL",
    "HIPOL",
    "PRODFAIL",
    "SPARE",
]
BIT = {name: i for i, name in enumerate(FLAG_NAMES) if name != "SPARE"}
L2_MASK = (1 << BIT["ATMFAIL"]) | (1 << BIT["LAND"]) | (1 << BIT["CLDICE"]) | (1 << BIT["HILT"])  # 0x213
XARRAY_ARTEFACTS = {
    ("scan_line_attributes", "day", "dtype"),
    ("scan_line_attributes", "msec", "dtype"),
    ("scan_line_attributes", "time", "calendar"),
}
FILL_I16 = -32767
TWIN_MODEL = ModelParams(fl_coef=5e-6)


def granule_name(start: datetime) -> str:
    return f"PACE_OCI.{start.strftime('%Y%m%dT%H%M%S')}.L2.OC_AOP.V3_1.nc"


@dataclass
class Granule:
    """What was simulated for one day (kept for quick-looks, tests and the catalog)."""

    path: Path
    start: datetime  # the swath's start; no arrays are kept, so memory stays flat over many seasons
    footprint: list[list[float]]  # lon/lat ring
    cloud_cover: float


def _pack(values: np.ndarray, scale: float, offset: float, vmin: int, vmax: int, fill_mask: np.ndarray) -> np.ndarray:
    raw = np.round((values - offset) / scale)
    raw = np.clip(np.nan_to_num(raw, nan=FILL_I16), vmin, vmax).astype(np.int16)
    raw[fill_mask] = FILL_I16
    return raw


def simulate_day(
    day: date,
    *,
    fields: FieldModel,
    grid: Grid,
    water: shapely.Geometry,
    bbox: tuple[float, float, float, float],
    seed: int,
    resolution_m: float,
) -> dict[str, Any]:
    """Everything that goes into one granule, as arrays."""
    sw = make_swath(bbox, day, seed, resolution_m)
    lines, pixels = sw.shape
    lon, lat = sw.lon.astype(float), sw.lat.astype(float)
    is_water = shapely.contains_xy(water, lon, lat)
    bands = oci_rrs_bands()
    wl = bands["center"].to_numpy(float)
    rng = np.random.default_rng([seed, 505, day.toordinal()])

    mid = sw.start + timedelta(seconds=float(sw.line_time[-1] - sw.line_time[0]) / 2)
    sza, saz = solar_position(lat, lon, mid)
    clouds = observe.CloudField(grid, day, seed)
    opt = clouds.optical(lon, lat)
    cloudy = opt > 0
    hilt = opt > 1.2
    sun_side = -sw.view_zenith if float(np.mean(saz)) > 180 else sw.view_zenith
    g = observe.glint(sun_side, sza)

    flags = np.zeros((lines, pixels), dtype=np.int64)
    flags |= np.where(~is_water, 1 << BIT["LAND"], 0)
    flags |= np.where(cloudy, 1 << BIT["CLDICE"], 0)
    flags |= np.where(hilt, 1 << BIT["HILT"], 0)
    flags |= np.where(g > 0.5, 1 << BIT["HIGLINT"], 0)
    flags |= np.where((g > 0.05) & (g <= 0.5), 1 << BIT["MODGLINT"], 0)
    flags |= np.where(observe.dilate(cloudy, 2) & ~cloudy, 1 << BIT["STRAYLIGHT"], 0)
    flags |= np.where(observe.dilate(~is_water, 2) & is_water, 1 << BIT["COASTZ"], 0)
    flags |= np.where(np.abs(sw.view_zenith) > 60, 1 << BIT["HISATZEN"], 0)
    atmfail = rng.random((lines, pixels)) < 2e-4
    flags |= np.where(atmfail, 1 << BIT["ATMFAIL"], 0)
    filled = (flags & L2_MASK) != 0
    valid = ~filled

    rrs = np.full((lines, pixels, wl.size), np.nan, dtype=np.float32)
    unc = np.full_like(rrs, np.nan)
    nflh = np.full((lines, pixels), np.nan, dtype=np.float32)
    truth: dict[str, np.ndarray] = {}
    if valid.any():
        vals = fields.values_at(day, lon[valid], lat[valid])
        truth = vals
        clean = band_rrs(oci_bandset(), vals["chl"], vals["pc"], vals["ag400"], vals["tss"], TWIN_MODEL)
        u = observe.rrs_uncertainty(clean, wl)
        bias, mult = observe.o2_artefact(wl)
        atm = observe.atmospheric_residual(grid, day, seed, lon[valid], lat[valid], wl)
        noise = rng.standard_normal(clean.shape).astype(np.float32) * u * mult[None, :].astype(np.float32)
        obs = clean + atm + bias[None, :] + noise + (0.002 * g[valid])[:, None]
        rrs[valid] = obs
        unc[valid] = u
        fl_bands = make_bandset(np.array([667.0, 678.0, 748.0]), np.array([10.0, 10.0, 10.0]))
        r3 = band_rrs(fl_bands, vals["chl"], vals["pc"], vals["ag400"], vals["tss"], TWIN_MODEL)
        f0 = 1500.0  # W m^-2 um^-1 near 678 nm
        base = r3[:, 0] + (r3[:, 2] - r3[:, 0]) * (678 - 667) / (748 - 667)
        nflh[valid] = f0 * (r3[:, 1] - base) + rng.normal(0, 0.01, base.size)
    aot = np.clip(0.12 + 0.05 * observe.gaussian_random_field((lines, pixels), 15, rng), 0.01, 1.0)
    ang = np.clip(1.2 + 0.25 * observe.gaussian_random_field((lines, pixels), 15, rng), -0.4, 2.9)
    sel = (wl >= 400) & (wl <= 700)
    with np.errstate(invalid="ignore", divide="ignore"):
        rpos = np.clip(rrs[..., sel], 1e-6, None)
        avw = (rpos.sum(-1) / (rpos / wl[sel]).sum(-1)).astype(np.float32)
    return {
        "swath": sw,
        "wl": wl,
        "rrs": rrs,
        "unc": unc,
        "flags": flags.astype(np.int64),
        "filled": filled,
        "aot": aot,
        "angstrom": ang,
        "avw": avw,
        "nflh": nflh,
        "sza": sza,
        "truth": truth,
        "water": is_water,
        "cloudy": cloudy,
    }


def _footprint(sw: Swath) -> list[list[float]]:
    lon, lat = sw.lon, sw.lat
    ring = [(lon[0, 0], lat[0, 0]), (lon[0, -1], lat[0, -1]), (lon[-1, -1], lat[-1, -1]), (lon[-1, 0], lat[-1, 0])]
    ring.append(ring[0])
    return [[round(float(x), 5), round(float(y), 5)] for x, y in ring]


def _set_attrs(obj: Any, attrs: dict[str, dict[str, Any]], skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    for k, spec in attrs.items():
        if k in skip or k == "_FillValue":
            continue
        obj.setncattr(k, decode_attr(spec))


def write_granule(sim: dict[str, Any], out_dir: Path, seed: int) -> Granule:
    """Write the simulated day as a v3.1 L2 AOP NetCDF4 file; return its description."""
    tpl = load_template()
    sw: Swath = sim["swath"]
    lines, pixels = sw.shape
    name = granule_name(sw.start)
    path = Path(out_dir) / name
    end = sw.start + timedelta(seconds=299.883)
    fp = _footprint(sw)
    flags = sim["flags"]
    filled = sim["filled"]
    water = sim["water"]
    n_px = flags.size

    root = dict(tpl["attrs"])
    tfmt = "%Y-%m-%dT%H:%M:%S.000Z"
    overrides: dict[str, Any] = {
        "product_name": name,
        "id": f"3.1/L2/{name}",
        "history": f"spectm twin (synthetic granule; seed {seed}); structure of l2gen v3.1 AOP output",
        "date_created": datetime.now(UTC).strftime(tfmt),
        "time_coverage_start": sw.start.strftime(tfmt),
        "time_coverage_end": end.strftime(tfmt),
        "start_center_longitude": np.float32(sw.lon[0, pixels // 2]),
        "start_center_latitude": np.float32(sw.lat[0, pixels // 2]),
        "end_center_longitude": np.float32(sw.lon[-1, pixels // 2]),
        "end_center_latitude": np.float32(sw.lat[-1, pixels // 2]),
        "northernmost_latitude": np.float32(sw.lat.max()),
        "southernmost_latitude": np.float32(sw.lat.min()),
        "easternmost_longitude": np.float32(sw.lon.max()),
        "westernmost_longitude": np.float32(sw.lon.min()),
        "geospatial_lat_max": np.float32(sw.lat.max()),
        "geospatial_lat_min": np.float32(sw.lat.min()),
        "geospatial_lon_max": np.float32(sw.lon.max()),
        "geospatial_lon_min": np.float32(sw.lon.min()),
        "startDirection": "Ascending",
        "endDirection": "Ascending",
        "geospatial_bounds": "POLYGON ((" + ", ".join(f"{x:.5f} {y:.5f}" for x, y in fp) + "))",
    }
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
        for k, spec in root.items():
            ds.setncattr(k, overrides[k] if k in overrides else decode_attr(spec))
        note = as_if_flown("pace", sw.start.date())
        if note:
            ds.setncattr("spectm_as_if_flown", note)

        # sensor_band_parameters: the full 286-band tables, as in real full granules
        sbp_t = tpl["groups"]["sensor_band_parameters"]
        sbp = ds.createGroup("sensor_band_parameters")
        bp = oci_bandpass()
        sbp.createDimension("number_of_bands", len(bp))
        sbp.createDimension("number_of_reflective_bands", len(bp))
        sbp.createDimension("wavelength_3d", 172)
        lw, aw_t, bw_t = pure_water()
        centres = bp["center"].to_numpy(float)
        band_vals = {
            "wavelength": bp["nominal"].to_numpy(np.int32),
            "vcal_gain": np.ones(len(bp), np.float32),
            "vcal_offset": np.zeros(len(bp), np.float32),
            "F0": bp["f0"].to_numpy(np.float32),
            "aw": np.interp(centres, lw, aw_t).astype(np.float32),
            "bbw": (0.5 * np.interp(centres, lw, bw_t)).astype(np.float32),
            "k_oz": bp["k_oz"].to_numpy(np.float32),
            "k_no2": bp["k_no2"].to_numpy(np.float32),
            "Tau_r": bp["tau_r"].to_numpy(np.float32),
            "wavelength_3d": oci_rrs_bands()["nominal"].to_numpy(np.int32),
        }
        for vname, vt in sbp_t["variables"].items():
            fill = decode_attr(vt["attrs"]["_FillValue"]) if "_FillValue" in vt["attrs"] else None
            v = sbp.createVariable(vname, np.dtype(vt["dtype"]), tuple(vt["dims"]), fill_value=fill)
            _set_attrs(v, vt["attrs"])
            v[:] = band_vals[vname]

        # scan_line_attributes
        slt = tpl["groups"]["scan_line_attributes"]
        sla = ds.createGroup("scan_line_attributes")
        sla.createDimension("number_of_lines", lines)
        t = sw.line_time
        dts = [datetime.fromtimestamp(x, UTC) for x in t]
        mid_px = pixels // 2
        line_vals = {
            "year": np.array([d.year for d in dts], np.int32),
            "day": np.array([d.timetuple().tm_yday for d in dts], np.int32),
            "msec": np.array(
                [round((d.hour * 3600 + d.minute * 60 + d.second + d.microsecond / 1e6) * 1000) for d in dts], np.int32
            ),
            "time": t.astype(np.float64),
            "detnum": np.zeros(lines, np.int8),
            "mside": (np.arange(lines) % 2).astype(np.int8),
            "slon": sw.lon[:, 0],
            "clon": sw.lon[:, mid_px],
            "elon": sw.lon[:, -1],
            "slat": sw.lat[:, 0],
            "clat": sw.lat[:, mid_px],
            "elat": sw.lat[:, -1],
            "csol_z": sim["sza"][:, mid_px].astype(np.float32),
        }
        for vname, vt in slt["variables"].items():
            fill = decode_attr(vt["attrs"]["_FillValue"]) if "_FillValue" in vt["attrs"] else None
            v = sla.createVariable(vname, np.dtype(vt["dtype"]), tuple(vt["dims"]), fill_value=fill)
            _set_attrs(v, vt["attrs"], {k for g, var, k in XARRAY_ARTEFACTS if var == vname})
            v[:] = line_vals[vname]

        # geophysical_data
        gdt = tpl["groups"]["geophysical_data"]
        gd = ds.createGroup("geophysical_data")
        gd.createDimension("number_of_lines", lines)
        gd.createDimension("pixels_per_line", pixels)
        gd.createDimension("wavelength_3d", 172)
        for vname, vt in gdt["variables"].items():
            a = vt["attrs"]
            fill = decode_attr(a["_FillValue"]) if "_FillValue" in a else None
            dims = tuple(vt["dims"])
            chunks = (
                [min(32, lines), min(256, pixels), 40][: len(dims)] if len(dims) == 3 else [min(256, lines), pixels]
            )
            v = gd.createVariable(
                vname,
                np.dtype(vt["dtype"]),
                dims,
                fill_value=fill,
                zlib=True,
                complevel=4,
                shuffle=True,
                chunksizes=chunks,
            )
            v.set_auto_maskandscale(False)
            _set_attrs(v, a)
            if vname == "l2_flags":
                v[:] = flags.astype(np.int64).astype(np.uint32).view(np.int32)
                continue
            if vname == "avw":
                v[:] = np.where(filled | ~np.isfinite(sim["avw"]), np.float32(-32767.0), sim["avw"]).astype(np.float32)
                continue
            sc, off = float(decode_attr(a["scale_factor"])), float(decode_attr(a["add_offset"]))
            vmin, vmax = int(decode_attr(a["valid_min"])), int(decode_attr(a["valid_max"]))
            src = {
                "Rrs": sim["rrs"],
                "Rrs_unc": sim["unc"],
                "aot_865": sim["aot"],
                "angstrom": sim["angstrom"],
                "nflh": sim["nflh"],
            }[vname]
            mask = filled[..., None] if src.ndim == 3 else filled
            v[:] = _pack(src, sc, off, vmin, vmax, np.broadcast_to(mask, src.shape))

        # navigation_data
        ndt = tpl["groups"]["navigation_data"]
        nd = ds.createGroup("navigation_data")
        nd.createDimension("number_of_lines", lines)
        nd.createDimension("pixels_per_line", pixels)
        nav_vals = {"longitude": sw.lon, "latitude": sw.lat, "tilt": np.zeros(lines, np.float32)}
        for vname, vt in ndt["variables"].items():
            fill = decode_attr(vt["attrs"]["_FillValue"]) if "_FillValue" in vt["attrs"] else None
            v = nd.createVariable(
                vname, np.dtype(vt["dtype"]), tuple(vt["dims"]), fill_value=fill, zlib=True, complevel=4, shuffle=True
            )
            _set_attrs(v, vt["attrs"])
            v[:] = nav_vals[vname]
        corners = fp[:4]
        nd.setncattr("gringpointlongitude", np.array([c[0] for c in corners], np.float32))
        nd.setncattr("gringpointlatitude", np.array([c[1] for c in corners], np.float32))
        nd.setncattr("gringpointsequence", np.array([1, 2, 3, 4], np.int32))

        # processing_control (+ input_parameters, flag_percentages)
        pct = tpl["groups"]["processing_control"]
        pc = ds.createGroup("processing_control")
        stem = name[: -len(".L2.OC_AOP.V3_1.nc")]
        pc_over = {"input_sources": f"{stem}.L1B.V3.nc (spectm twin: simulated)"}
        for k, spec in pct["attrs"].items():
            pc.setncattr(k, pc_over.get(k, decode_attr(spec)))
        ip = pc.createGroup("input_parameters")
        ip_over = {"ifile": f"{stem}.L1B.V3.nc", "ofile": name, "metafile": f"{name}.meta"}
        for k, spec in pct["groups"]["input_parameters"]["attrs"].items():
            ip.setncattr(k, ip_over.get(k, decode_attr(spec)))
        fpg = pc.createGroup("flag_percentages")
        for k in pct["groups"]["flag_percentages"]["attrs"]:
            fpg.setncattr(
                k, np.float32(100.0 * np.count_nonzero(flags & (1 << BIT[k])) / n_px) if k in BIT else np.float32(0)
            )
    cloud_cover = float(100.0 * np.count_nonzero(sim["cloudy"] & water) / max(1, np.count_nonzero(water)))
    return Granule(path, sw.start, fp, cloud_cover)
