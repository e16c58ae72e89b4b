"""``build_cube``: the local STAC catalog → analysis-ready Zarr cubes, one per sensor.

One dask graph per time slice, computed and written before the next is built, so
memory stays flat however long the season (DESIGN.md §4 "lazy until the write").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from spectm import __version__
from spectm.aoi import AOI, parse_bbox
from spectm.cf import common_attrs
from spectm.checks import check_positive
from spectm.console import log
from spectm.cube import catalog
from spectm.cube.flags import parse_flag_names
from spectm.cube.grid import region_geobox
from spectm.cube.integrity import DIGEST_VAR, damaged_slices
from spectm.cube.s2_cube import DEFAULT_BANDS, DEFAULT_MASK_CLASSES, S2Builder
from spectm.cube.scheduler import check_memory_limit, dask_context
from spectm.cube.store import (
    StoreState,
    create_or_extend,
    repair_plan,
    update_attrs,
    valid_cells,
    write_slice,
)
from spectm.cube.template import TIME_ENCODING, finish_template
from spectm.dates import DateRange, in_seasons, parse_dates, parse_months
from spectm.dates import seasons as split_seasons
from spectm.errors import BadInputError, SpectmError
from spectm.lock import store_lock

SENSORS = ("pace", "s2")
ALGORITHM_VERSION = "1"  # bump when a change alters cube values for the same inputs


@dataclass
class SensorResult:
    sensor: str
    path: Path
    config_hash: str = ""
    days_written: list[date] = field(default_factory=list)
    days_repaired: list[date] = field(default_factory=list)
    days_forced: list[date] = field(default_factory=list)
    days_empty: list[date] = field(default_factory=list)  # written, but 0 valid cells (cloud, land, flags)
    days_already_complete: int = 0
    days_without_data: int = 0
    items_used: int = 0
    items_failed: dict[str, str] = field(default_factory=dict)
    items_skipped: dict[str, int] = field(default_factory=dict)
    days_damaged: dict[str, str] = field(default_factory=dict)  # day -> what was wrong (rebuilt when in the catalog)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "written" if (self.days_written or self.days_repaired or self.days_forced) else "up to date"


@dataclass
class CubeResult:
    sensors: dict[str, SensorResult] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [r.path for r in self.sensors.values()]


def config_hash(settings: dict) -> str:
    """Hash of the settings that change the cube's values (not paths, schedulers)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def cube_path(data_dir: Path, aoi: AOI, sensor: str) -> Path:
    return Path(data_dir) / "cubes" / f"{aoi.name}_{sensor}.zarr"


def build_cube(
    aoi: AOI | str,
    dates: DateRange | str,
    *,
    data_dir: Path | str,
    sensors: Sequence[str] = SENSORS,
    flags: str | Sequence[str] | None = None,
    resolution: float | Mapping[str, float | None] | None = None,
    radius_m: float | None = None,
    with_unc: bool = True,
    s2_bands: Sequence[str] | None = None,
    s2_mask_classes: Iterable[int] | None = None,
    scheduler: str | None = "local",
    workers: int | None = None,
    memory_limit: str = "2GB",
    force: bool = False,
    force_dates: DateRange | str | None = None,
    pace_chunks: dict | None = None,
    s2_chunk: int | None = None,
    repair: bool = False,
    dashboard: bool = False,
    months: str | tuple[int, int] | None = None,
    seasons: Sequence[int] | None = None,
) -> CubeResult:
    """Build or update ``cubes/<region>_<sensor>.zarr`` for each sensor.

    Incremental: days already complete in the store are skipped; incomplete slices
    (a killed build) are recomputed; ``force`` rebuilds every requested day present
    in the store (or only ``force_dates``). ``resolution`` overrides the region's
    grid: one cell size for every sensor of the call, or one per sensor
    (``{"pace": 1000, "s2": 60}``; a sensor left out or ``None`` keeps the region's).

    Every call checks the chunk files of the complete slices in the requested dates
    against the sizes recorded when they were written (a deleted, emptied or truncated
    chunk); ``repair`` also re-hashes and decodes them (bit rot). Damaged slices are
    rebuilt like incomplete ones. ``dashboard`` serves the LocalCluster's dashboard on
    127.0.0.1 (off by default: nothing listens beyond loopback, no HTTP route is served).

    ``months`` (``"6-10"``) and ``seasons`` (years) keep only season days of a multi-year
    ``dates``: one cube holds every season, its time axis jumping over the winters.
    """
    aoi = parse_bbox(aoi, Path(data_dir))
    dates = parse_dates(dates)
    mon = parse_months(months)
    season_ranges = split_seasons(dates, mon, list(seasons) if seasons is not None else None)
    fdates = parse_dates(force_dates) if force_dates is not None else None
    for name, value in (
        ("radius", radius_m),
        *(("resolution", v) for v in (resolution.values() if isinstance(resolution, Mapping) else [resolution])),
    ):
        check_positive(name, value)
    check_memory_limit(memory_limit)
    bad = [s for s in sensors if s not in SENSORS]
    if bad or not sensors:
        raise BadInputError(f"unknown sensor(s) {bad or sensors}", "use --sensor pace, s2 or all")
    result = CubeResult()
    with dask_context(scheduler, workers, memory_limit, dashboard=dashboard):
        for sensor in sensors:
            t0 = time.perf_counter()
            res = _build_sensor(
                sensor,
                aoi,
                dates,
                Path(data_dir),
                flags=flags,
                resolution=resolution.get(sensor) if isinstance(resolution, Mapping) else resolution,
                radius_m=radius_m,
                with_unc=with_unc,
                s2_bands=s2_bands,
                s2_mask_classes=s2_mask_classes,
                force=force or fdates is not None,
                force_dates=fdates,
                pace_chunks=pace_chunks,
                s2_chunk=s2_chunk,
                repair=repair,
                season_ranges=season_ranges,
            )
            res.seconds = time.perf_counter() - t0
            result.sensors[sensor] = res
    return result


_SENSOR_META = {
    "pace": {
        "title": "PACE OCI L2 AOP remote sensing reflectance",
        "source": "NASA PACE OCI L2 AOP (OB.DAAC)",
        "platform": "PACE",
        "instrument": "OCI",
        "keywords": "remote sensing reflectance, Rrs, ocean color, hyperspectral, PACE, OCI, harmful algal blooms",
        "license": "Derived from NASA PACE data, free and open under the NASA Earth Science Data and "
        "Information Policy; cite the source DOI (e.g. 10.5067/PACE/OCI/L2/OC_AOP/3.1).",
    },
    "s2": {
        "title": "Sentinel-2 L2A surface reflectance",
        "source": "ESA Sentinel-2 L2A via STAC",
        "platform": "Sentinel-2",
        "instrument": "MSI",
        "keywords": "surface reflectance, Sentinel-2, MSI, harmful algal blooms",
        "license": "Contains modified Copernicus Sentinel data (Legal notice on the use of Copernicus "
        "Sentinel Data and Service Information).",
    },
}


def _global_attrs(aoi: AOI, sensor: str, chash: str, settings: dict, *, twin: bool) -> dict:
    """CF-1.8 / ACDD-1.3 global attributes of a new cube (``time_coverage_*`` are kept current
    by :func:`_touch_history`)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta = _SENSOR_META[sensor]
    summary = "Masked, gridded daily time slices built by spectm build-cube from the local STAC catalog."
    source = meta["source"]
    if twin:  # never let a simulated cube pass for real data
        summary += " SIMULATED: built from the spectm Lake Erie twin, not from satellite data."
        source += " format, simulated by the spectm Lake Erie twin"
    return {
        "title": f"{meta['title']}, {aoi.name}, analysis-ready cube" + (" (simulated twin)" if twin else ""),
        "summary": summary,
        "keywords": f"{meta['keywords']}, {aoi.name}",
        "source": source,
        "platform": meta["platform"],
        "instrument": meta["instrument"],
        "processing_level": "L3 (L2 data masked and gridded to daily slices)",
        "product_version": f"spectm {__version__}, cube algorithm {ALGORITHM_VERSION}",
        "cdm_data_type": "Grid",
        # ACDD id: stable for one region, sensor and settings (an append keeps the store's attrs)
        "id": f"spectm-cube-{aoi.name}-{sensor}-{chash}",
        "license": meta["license"],
        "history": f"{now} spectm {__version__} build-cube (sensor={sensor}, config {chash})",
        **common_attrs(aoi.bbox, aoi.geometry.wkt, now),
        "time_coverage_resolution": "P1D",
        "spectm_region": aoi.name,
        "spectm_sensor": sensor,
        "spectm_twin": "true" if twin else "false",
        "config_hash": chash,
        "spectm_settings": json.dumps(settings, sort_keys=True, default=str),
    }


def _as_if_flown_attrs(attrs: dict, days: list[date]) -> dict:
    """Say in the cube's attributes which days were simulated before the sensor flew (twin only)."""
    if not days:
        return attrs
    old = attrs.get("spectm_as_if_flown_days", "")
    all_days = sorted({*(old.split(",") if old else []), *(d.isoformat() for d in days)})
    attrs["spectm_as_if_flown_days"] = ",".join(all_days)
    attrs["spectm_as_if_flown"] = (
        f"{len(all_days)} time slice(s) ({all_days[0]} to {all_days[-1]}) are twin simulations dated before the "
        "sensor launched, simulated as if it had flown: no real imagery exists for them (docs/twin.md)"
    )
    if "as if" not in attrs.get("summary", ""):
        attrs["summary"] = (
            attrs.get("summary", "")
            + " Some slices are dated before the sensor's launch, simulated as if it had flown."
        )
    return attrs


def _sensor_settings(sensor: str, aoi: AOI, resolution: float | None, **kw: object) -> dict:
    res = float(resolution or aoi.resolution.get(sensor, 1000.0 if sensor == "pace" else 20.0))
    s = {
        "sensor": sensor,
        "region": aoi.name,
        "bbox": list(aoi.bbox),
        "crs": aoi.crs,
        "resolution": res,
        "algorithm": ALGORITHM_VERSION,
    }
    s.update({k: v for k, v in kw.items() if v is not None})
    return s


def sensor_settings(
    sensor: str,
    aoi: AOI,
    *,
    flags: object = None,
    resolution: float | None = None,
    radius_m: float | None = None,
    with_unc: bool = True,
    s2_bands: Sequence[str] | None = None,
    s2_mask_classes: Iterable[int] | None = None,
) -> dict:
    """The settings that decide a sensor's cube values (hashed into ``config_hash``)."""
    if sensor == "pace":
        from spectm.cube.regrid import default_radius

        flag_names = parse_flag_names(flags)  # type: ignore[arg-type]
        res0 = float(resolution or aoi.resolution.get("pace", 1000.0))
        radius = float(radius_m or default_radius(res0))
        return _sensor_settings(
            "pace",
            aoi,
            resolution,
            flags=list(flag_names),
            radius_m=radius,
            with_unc=with_unc,
            combine="mean-of-granules",
        )

    bands = list(s2_bands or DEFAULT_BANDS)
    classes = sorted(set(s2_mask_classes or DEFAULT_MASK_CLASSES))
    return _sensor_settings(
        "s2",
        aoi,
        resolution,
        bands=bands,
        mask_classes=classes,
        combine="mean-of-items",
        water_mask=aoi.water is not None,
    )


def _build_sensor(
    sensor: str,
    aoi: AOI,
    dates: DateRange,
    data_dir: Path,
    *,
    flags: object,
    resolution: float | None,
    radius_m: float | None,
    with_unc: bool,
    s2_bands: Sequence[str] | None,
    s2_mask_classes: Iterable[int] | None,
    force: bool,
    force_dates: DateRange | None,
    pace_chunks: dict | None,
    s2_chunk: int | None,
    repair: bool = False,
    season_ranges: list[DateRange] | None = None,
) -> SensorResult:
    path = cube_path(data_dir, aoi, sensor)
    settings = sensor_settings(
        sensor,
        aoi,
        flags=flags,
        resolution=resolution,
        radius_m=radius_m,
        with_unc=with_unc,
        s2_bands=s2_bands,
        s2_mask_classes=s2_mask_classes,
    )
    chash = config_hash(settings)
    out = SensorResult(sensor=sensor, path=path, config_hash=chash)
    scan = catalog.scan(data_dir, sensor, aoi, dates)
    if sensor == "pace" and scan.by_day:
        _check_flag_names(settings["flags"], scan)
    out.items_skipped = dict(scan.skipped)
    ranges = season_ranges or [dates]
    off = [d for d in scan.by_day if not in_seasons(d, ranges)]
    if off:  # counted, not silently dropped: items of days outside the season months
        out.items_skipped["outside the seasons"] = sum(len(scan.by_day[d]) for d in off)
        for d in off:
            del scan.by_day[d]
    out.days_without_data = sum(r.n_days for r in ranges) - len(scan.by_day)
    if not scan.by_day:
        log.warning("%s: no items in the catalog for %s over %s; nothing to build", sensor, dates, aoi.name)
        return out
    path.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(path):
        state = repair_plan(path)
        if state.n_time or path.exists():
            old = state.attrs.get("config_hash")
            if old and old != chash:
                raise BadInputError(
                    f"{path.name} was built with other settings (config {old}, now {chash}: {state.attrs.get('spectm_settings')})",
                    f"delete {path} to rebuild with the new settings, or build into another --data-dir",
                )
        gb = region_geobox(aoi, settings["resolution"])
        builder = _make_builder(sensor, aoi, gb, settings, scan, with_unc, pace_chunks, s2_chunk, out)
        avail = scan.by_day
        new_days = sorted(d for d in avail if d not in state.complete and d not in state.incomplete)
        damaged = _damaged_days(path, state, dates, deep=repair)
        out.days_damaged = {str(d): why for d, why in damaged.items()}
        todo = sorted(d for d in (*state.incomplete, *damaged) if d in avail)
        for d in sorted(set(damaged) - set(avail)):
            log.warning(
                "%s: slice %s is damaged (%s) but has no items in the catalog; it cannot be rebuilt",
                sensor,
                d,
                damaged[d],
            )
        forced = sorted(
            d
            for d in state.complete
            if d in avail and d not in damaged and force and (force_dates is None or d in force_dates)
        )
        out.days_already_complete = len(
            [d for d in state.complete if in_seasons(d, ranges) and d not in forced and d not in damaged]
        )
        if new_days and state.last_day and new_days[0] <= state.last_day:
            raise BadInputError(
                f"{path.name} ends on {state.last_day}; {len([d for d in new_days if d <= state.last_day])} new day(s) "
                f"fall before that (from {new_days[0]})",
                f"cubes only grow forward in time: delete {path} and rebuild with the full --dates range",
            )
        index = dict(state.complete) | dict(state.incomplete)
        if new_days:
            template = builder.template(new_days, avail)
            twin = any(bool(it.properties.get("spectm:twin")) for d in new_days for it in avail[d])
            # an append must not reset date_created/history: keep the store's own attributes
            template.attrs = state.attrs or _global_attrs(aoi, sensor, chash, settings, twin=twin)
            exists = state.n_time > 0 or path.exists()
            if exists and not (path / DIGEST_VAR / "zarr.json").exists():
                # a cube from before per-chunk digests: an append must not add a variable shorter than time
                log.warning(
                    "%s has no per-chunk digests (older spectm): its slices are checked by decoding only; "
                    "delete it and rebuild to get them",
                    path.name,
                )
                template = template.drop_vars(DIGEST_VAR)
            template.attrs = _as_if_flown_attrs(
                dict(template.attrs),
                [d for d in new_days if any(it.properties.get("spectm:as_if_flown") for it in avail[d])],
            )
            create_or_extend(path, template, builder.encoding(), exists=exists)
            if "spectm_as_if_flown" in template.attrs:  # an append keeps old attrs: write these explicitly
                update_attrs(
                    path, {k: template.attrs[k] for k in ("spectm_as_if_flown", "spectm_as_if_flown_days", "summary")}
                )
            for i, d in enumerate(new_days):
                index[d] = state.n_time + i
        for kind, days in (("repair", todo), ("force", forced), ("new", new_days)):
            for d in days:
                ds_slice, ids = builder.slice(d, avail[d])
                ds_slice = _add_provenance(ds_slice, ids, chash)
                t0 = time.perf_counter()
                write_slice(path, index[d], ds_slice)
                if valid_cells(path, index[d]) == 0:
                    out.days_empty.append(d)
                    log.warning(
                        "%s %s: written with 0 valid cells (every cell cloudy, flagged or off the water)", sensor, d
                    )
                log.info("%s %s: wrote %s (%d items) in %.1f s", sensor, kind, d, len(ids), time.perf_counter() - t0)
                out.items_used += len(ids)
                {"repair": out.days_repaired, "force": out.days_forced, "new": out.days_written}[kind].append(d)
        if out.days_written or out.days_repaired or out.days_forced:
            _touch_history(path, state.attrs, out, chash)
    return out


def _damaged_days(path: Path, state: StoreState, dates: DateRange, *, deep: bool) -> dict[date, str]:
    """Complete slices of the requested dates whose chunk files fail their check (day → why)."""
    idx = {i: d for d, i in state.complete.items() if d in dates}
    if not idx:
        return {}
    found = damaged_slices(path, sorted(idx), deep=deep)
    for i, msgs in found.items():
        log.warning("%s: slice %s is damaged (%s); rebuilding it", path.name, idx[i], "; ".join(msgs))
    return {idx[i]: "; ".join(msgs) for i, msgs in found.items()}


def _check_flag_names(names: list[str], scan: catalog.CatalogScan) -> None:
    """Fail before any work when a --flags name is not in the granules' flag_meanings."""
    from spectm.cube.flags import mask_bits
    from spectm.cube.pace_reader import open_l2

    for items in scan.by_day.values():
        for it in items:
            try:
                g = open_l2(catalog.asset_path(it, "data"))
            except BadInputError:
                continue
            mask_bits(names, g.flag_table)
            return


def _add_provenance(ds: xr.Dataset, ids: list[str], chash: str) -> xr.Dataset:
    ds = ds.copy()
    ds["source_ids"] = ("time", np.array([";".join(ids)], dtype=object))
    ds["software_version"] = ("time", np.array([f"spectm {__version__}"], dtype=object))
    ds["config_hash"] = ("time", np.array([chash], dtype=object))
    if "processing_version" not in ds:
        ds["processing_version"] = ("time", np.array(["unknown"], dtype=object))
    ds["slice_complete"] = ("time", np.zeros(1, dtype=np.uint8))
    return ds


def _touch_history(path: Path, old_attrs: dict, out: SensorResult, chash: str) -> None:
    """Append a history line; refresh ``date_modified`` and ACDD ``time_coverage_start/end``."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    line = (
        f"{now} spectm {__version__} build-cube: {len(out.days_written)} new, {len(out.days_repaired)} repaired, "
        f"{len(out.days_forced)} rebuilt day(s) (config {chash})"
    )
    hist = old_attrs.get("history")
    attrs = {"date_modified": now, "history": f"{hist}\n{line}" if hist else line}
    times = xr.open_zarr(path, consolidated=False, zarr_format=3)["time"].values
    if len(times):
        attrs["time_coverage_start"] = f"{np.datetime_as_string(times.min(), unit='s')}Z"
        attrs["time_coverage_end"] = f"{np.datetime_as_string(times.max(), unit='s')}Z"
    update_attrs(path, attrs)


class _Builder:
    """Per-sensor slice factory (template, encoding, lazy slice)."""

    def template(self, days: list[date], by_day: dict) -> xr.Dataset: ...
    def encoding(self) -> dict: ...
    def slice(self, day: date, items: list) -> tuple[xr.Dataset, list[str]]: ...


def _make_builder(
    sensor: str,
    aoi: AOI,
    gb: object,
    settings: dict,
    scan: catalog.CatalogScan,
    with_unc: bool,
    pace_chunks: dict | None,
    s2_chunk: int | None,
    out: SensorResult,
) -> _Builder:
    if sensor == "pace":
        return _PaceBuilder(aoi, gb, settings, scan, with_unc, pace_chunks)

    return S2Builder(aoi, gb, settings, scan, s2_chunk, out)


class _PaceBuilder(_Builder):
    def __init__(
        self, aoi: AOI, gb: object, settings: dict, scan: catalog.CatalogScan, with_unc: bool, chunks: dict | None
    ) -> None:
        from spectm.cube.pace_cube import PaceSettings, probe_wavelengths
        from spectm.cube.regrid import SwathResampler

        self.gb = gb
        self.aoi = aoi
        self.with_unc = with_unc
        self.resampler = SwathResampler(gb, settings["radius_m"])  # type: ignore[arg-type]
        self.settings = PaceSettings(tuple(settings["flags"]), settings["radius_m"], with_unc, chunks)
        first = [it for items in scan.by_day.values() for it in items]
        self.wavelength = probe_wavelengths(first)

    def template(self, days: list[date], by_day: dict) -> xr.Dataset:
        from spectm.cube.pace_cube import PACE_VAR_ATTRS, grid_coords

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
        if self.with_unc:
            data["rrs_unc"] = (
                ("time", "wavelength", "y", "x"),
                da.zeros((nt, nb, ny, nx), dtype=np.float32, chunks=(1, nb, ny, nx)),
            )
        ds = xr.Dataset(data, coords=grid_coords(self.gb) | {"time": t, "wavelength": self.wavelength})  # type: ignore[arg-type]
        return finish_template(ds, self.aoi, PACE_VAR_ATTRS)

    def encoding(self) -> dict:
        from spectm.cube.pace_cube import pace_encoding

        ny, nx = self.gb.shape  # type: ignore[attr-defined]
        return pace_encoding(len(self.wavelength), ny, nx, self.with_unc) | TIME_ENCODING

    def slice(self, day: date, items: list) -> tuple[xr.Dataset, list[str]]:
        from spectm.cube.pace_cube import pace_slice

        return pace_slice(day, items, self.resampler, self.wavelength, self.settings)


def summary_rows(result: CubeResult) -> list[tuple]:
    rows = []
    for r in result.sensors.values():
        rows.append(
            (
                r.sensor,
                str(r.path),
                r.status,
                len(r.days_written),
                len(r.days_repaired),
                len(r.days_forced),
                r.days_already_complete,
                len(r.days_empty),
                r.items_used,
                len(r.items_failed),
                sum(r.items_skipped.values()),
                f"{r.seconds:.1f}",
            )
        )
    return rows


def result_json(result: CubeResult) -> dict:
    return {
        k: {kk: (str(vv) if isinstance(vv, Path) else vv) for kk, vv in asdict(v).items()}
        for k, v in result.sensors.items()
    }


__all__ = ["CubeResult", "SensorResult", "SpectmError", "build_cube", "cube_path"]
