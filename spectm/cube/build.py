"""``build_cube``: the local STAC catalog → analysis-ready Zarr cubes, one per sensor.

One dask graph per time slice, computed and written on its own, with a fixed number of
slices in flight (one per scheduler thread), so memory stays flat however long the season
(lazy until the write, docs/cube.md § Scaling out). The cube's attributes are written by
:mod:`spectm.cube.cube_attrs`, each sensor's slices made by its builder
(:mod:`spectm.cube.builders`); this module decides which days to write and writes them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dask
import rioxarray  # noqa: F401  (registers the .rio accessor used for the CRS)

from spectm.aoi import AOI, parse_bbox
from spectm.checks import check_positive
from spectm.console import log
from spectm.cube import catalog
from spectm.cube.builders import Builder, make_builder
from spectm.cube.cube_attrs import (
    add_provenance,
    as_if_flown_attrs,
    global_attrs,
    touch_history,
)
from spectm.cube.cube_settings import SENSORS, config_hash, cube_path, sensor_settings, settings_by_sensor
from spectm.cube.grid import region_geobox
from spectm.cube.integrity import DIGEST_VAR, damaged_slices
from spectm.cube.results import CubeResult, SensorResult, result_json, summary_rows
from spectm.cube.scheduler import check_memory_limit, dask_context, slice_threads
from spectm.cube.slice_pool import run_bounded
from spectm.cube.store import (
    StoreState,
    create_or_extend,
    repair_plan,
    update_attrs,
    valid_cells,
    write_slice,
)
from spectm.dates import DateRange, in_seasons, parse_dates, parse_months
from spectm.dates import seasons as split_seasons
from spectm.errors import BadInputError, SpectmError
from spectm.lock import store_lock


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
    slices_at_once: int | None = None,
) -> CubeResult:
    """Build or update ``cubes/<region>_<sensor>.zarr`` for each sensor.

    Returns a :class:`~spectm.cube.results.CubeResult` (a stage result): ``done`` when any day
    was written, repaired or rebuilt, ``skipped`` when every requested day was complete.

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

    ``slices_at_once`` days are computed and written concurrently (default: the scheduler's
    threads, 1 for ``"synchronous"``): a day of one granule is a single task, so only several
    days at once keep several cores busy; memory grows with this number, not with the days.
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
    settings = settings_by_sensor(
        sensors,
        aoi,
        flags=flags,
        resolution=resolution,
        radius_m=radius_m,
        with_unc=with_unc,
        s2_bands=s2_bands,
        s2_mask_classes=s2_mask_classes,
    )
    built: dict[str, SensorResult] = {}
    if slices_at_once is not None and (type(slices_at_once) is not int or slices_at_once < 1):
        raise BadInputError(
            f"slices_at_once={slices_at_once!r} is not a whole number >= 1", "pass e.g. 2, or leave it unset"
        )
    with dask_context(scheduler, workers, memory_limit, dashboard=dashboard) as sched:
        n_at_once = slices_at_once or slice_threads(sched, workers)
        for sensor in sensors:
            t0 = time.perf_counter()
            res = _build_sensor(
                sensor,
                aoi,
                dates,
                Path(data_dir),
                settings[sensor],
                force=force or fdates is not None,
                force_dates=fdates,
                pace_chunks=pace_chunks,
                s2_chunk=s2_chunk,
                repair=repair,
                season_ranges=season_ranges,
                slices_at_once=n_at_once,
            )
            res.seconds = time.perf_counter() - t0
            built[sensor] = res
    return CubeResult.of(built)


def _build_sensor(
    sensor: str,
    aoi: AOI,
    dates: DateRange,
    data_dir: Path,
    settings: dict,
    *,
    force: bool,
    force_dates: DateRange | None,
    pace_chunks: dict | None,
    s2_chunk: int | None,
    repair: bool = False,
    season_ranges: list[DateRange] | None = None,
    slices_at_once: int = 1,
) -> SensorResult:
    path = cube_path(data_dir, aoi, sensor)
    chash = config_hash(settings)
    out = SensorResult(sensor=sensor, path=path, config_hash=chash)
    ranges = season_ranges or [dates]
    scan = _scan_seasons(sensor, aoi, dates, data_dir, settings, ranges, out)
    if not scan.by_day:
        log.warning("%s: no items in the catalog for %s over %s; nothing to build", sensor, dates, aoi.name)
        return out
    path.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(path):
        state = repair_plan(path)
        _check_same_settings(path, state, chash)
        gb = region_geobox(aoi, settings["resolution"])
        builder = make_builder(sensor, aoi, gb, settings, scan, pace_chunks, s2_chunk, out)
        plan = _plan_days(path, state, scan.by_day, dates, ranges, out, force, force_dates, deep=repair)
        index = dict(state.complete) | dict(state.incomplete)
        if plan.new:
            _extend_store(path, state, builder, plan.new, scan.by_day, (aoi, sensor, chash, settings))
            for i, d in enumerate(plan.new):
                index[d] = state.n_time + i
        _write_days(path, builder, plan, scan.by_day, index, chash, out, slices_at_once)
        if out.days_written or out.days_repaired or out.days_forced:
            counts = (len(out.days_written), len(out.days_repaired), len(out.days_forced))
            touch_history(path, state.attrs, counts, chash)
    return out


def _scan_seasons(
    sensor: str,
    aoi: AOI,
    dates: DateRange,
    data_dir: Path,
    settings: dict,
    ranges: list[DateRange],
    out: SensorResult,
) -> catalog.CatalogScan:
    """The catalog's items per day within the season ranges (items of other days are
    counted as skipped, not silently dropped)."""
    scan = catalog.scan(data_dir, sensor, aoi, dates)
    if sensor == "pace" and scan.by_day:
        catalog.check_flag_names(settings["flags"], scan)
    out.items_skipped = dict(scan.skipped)
    off = [d for d in scan.by_day if not in_seasons(d, ranges)]
    if off:  # counted, not silently dropped: items of days outside the season months
        out.items_skipped["outside the seasons"] = sum(len(scan.by_day[d]) for d in off)
        for d in off:
            del scan.by_day[d]
    out.days_without_data = sum(r.n_days for r in ranges) - len(scan.by_day)
    return scan


def _check_same_settings(path: Path, state: StoreState, chash: str) -> None:
    """An existing cube is only extended with the settings it was built with."""
    if not (state.n_time or path.exists()):
        return
    old = state.attrs.get("config_hash")
    if old and old != chash:
        raise BadInputError(
            f"{path.name} was built with other settings (config {old}, now {chash}: {state.attrs.get('spectm_settings')})",
            f"delete {path} to rebuild with the new settings, or build into another --data-dir",
        )


@dataclass
class DayPlan:
    """The days a build writes, by kind, in the order it writes them, and the complete days it keeps."""

    repair: list[date]
    force: list[date]
    new: list[date]
    complete: int  # complete slices in the requested seasons left as they are


def plan_days(
    state: StoreState,
    avail: Mapping[date, list],
    ranges: list[DateRange],
    damaged: Mapping[date, str],
    force: bool,
    force_dates: DateRange | None,
) -> DayPlan:
    """Which days are new, which incomplete or ``damaged`` slices are rebuilt, which complete
    ones are forced (the build and its dry run both decide here)."""
    forced = sorted(
        d
        for d in state.complete
        if d in avail and d not in damaged and force and (force_dates is None or d in force_dates)
    )
    return DayPlan(
        repair=sorted(d for d in (*state.incomplete, *damaged) if d in avail),
        force=forced,
        new=sorted(d for d in avail if d not in state.complete and d not in state.incomplete),
        complete=len([d for d in state.complete if in_seasons(d, ranges) and d not in forced and d not in damaged]),
    )


def _plan_days(
    path: Path,
    state: StoreState,
    avail: dict[date, list],
    dates: DateRange,
    ranges: list[DateRange],
    out: SensorResult,
    force: bool,
    force_dates: DateRange | None,
    *,
    deep: bool,
) -> DayPlan:
    """:func:`plan_days` with the store's damaged slices; a cube only grows forward in time."""
    damaged = _damaged_days(path, state, dates, deep=deep)
    out.days_damaged = {str(d): why for d, why in damaged.items()}
    for d in sorted(set(damaged) - set(avail)):
        log.warning(
            "%s: slice %s is damaged (%s) but has no items in the catalog; it cannot be rebuilt",
            out.sensor,
            d,
            damaged[d],
        )
    plan = plan_days(state, avail, ranges, damaged, force, force_dates)
    out.days_already_complete = plan.complete
    if plan.new and state.last_day and plan.new[0] <= state.last_day:
        raise BadInputError(
            f"{path.name} ends on {state.last_day}; {len([d for d in plan.new if d <= state.last_day])} new day(s) "
            f"fall before that (from {plan.new[0]})",
            f"cubes only grow forward in time: delete {path} and rebuild with the full --dates range",
        )
    return plan


def _extend_store(
    path: Path,
    state: StoreState,
    builder: Builder,
    new_days: list[date],
    avail: dict[date, list],
    identity: tuple[AOI, str, str, dict],
) -> None:
    """Create the store, or extend its time axis, for ``new_days`` (empty, incomplete slices)."""
    aoi, sensor, chash, settings = identity
    template = builder.template(new_days, avail)
    twin = any(bool(it.properties.get("spectm:twin")) for d in new_days for it in avail[d])
    # an append must not reset date_created/history: keep the store's own attributes
    template.attrs = state.attrs or global_attrs(aoi, sensor, chash, settings, twin=twin)
    exists = state.n_time > 0 or path.exists()
    if exists and not (path / DIGEST_VAR / "zarr.json").exists():
        # a cube from before per-chunk digests: an append must not add a variable shorter than time
        log.warning(
            "%s has no per-chunk digests (older spectm): its slices are checked by decoding only; "
            "delete it and rebuild to get them",
            path.name,
        )
        template = template.drop_vars(DIGEST_VAR)
    template.attrs = as_if_flown_attrs(
        dict(template.attrs),
        [d for d in new_days if any(it.properties.get("spectm:as_if_flown") for it in avail[d])],
    )
    create_or_extend(path, template, builder.encoding(), exists=exists)
    if "spectm_as_if_flown" in template.attrs:  # an append keeps old attrs: write these explicitly
        update_attrs(path, {k: template.attrs[k] for k in ("spectm_as_if_flown", "spectm_as_if_flown_days", "summary")})


def _write_days(
    path: Path,
    builder: Builder,
    plan: DayPlan,
    avail: dict[date, list],
    index: dict[date, int],
    chash: str,
    out: SensorResult,
    slices_at_once: int = 1,
) -> None:
    """Compute and write each planned slice — repairs, then forced rebuilds, then new days —
    with at most ``slices_at_once`` in flight; results are recorded in day order."""
    shared_lock = threading.Lock()  # the small per-day arrays share chunks between days

    def one(job: tuple[str, date]) -> tuple[list[str], int]:
        kind, d = job
        ds_slice, ids = builder.slice(d, avail[d])
        ds_slice = add_provenance(ds_slice, ids, chash)
        t0 = time.perf_counter()
        write_slice(path, index[d], ds_slice, shared_lock=shared_lock)
        n_valid = valid_cells(path, index[d])
        log.info("%s %s: wrote %s (%d items) in %.1f s", out.sensor, kind, d, len(ids), time.perf_counter() - t0)
        return ids, n_valid

    done = {"repair": out.days_repaired, "force": out.days_forced, "new": out.days_written}
    jobs = [
        (kind, d) for kind, days in (("repair", plan.repair), ("force", plan.force), ("new", plan.new)) for d in days
    ]
    n = min(slices_at_once, len(jobs))
    if n > 1:
        log.info("%s: %d slices to write, %d at a time", out.sensor, len(jobs), n)
    # Several slices at once: each computes its own small graph in its own thread (dask's
    # synchronous scheduler), never two concurrent gets on one distributed client — that combination
    # hung a build in CI (both gathers waiting, the workers idle). One slice at a time keeps the
    # configured scheduler for its graph.
    with dask.config.set(scheduler="synchronous") if n > 1 else contextlib.nullcontext():
        written = run_bounded(one, jobs, n)
    for (kind, d), (ids, n_valid) in zip(jobs, written, strict=True):
        if n_valid == 0:
            out.days_empty.append(d)
            log.warning(
                "%s %s: written with 0 valid cells (every cell cloudy, flagged or off the water)", out.sensor, d
            )
        out.items_used += len(ids)
        done[kind].append(d)


def _damaged_days(path: Path, state: StoreState, dates: DateRange, *, deep: bool) -> dict[date, str]:
    """Complete slices of the requested dates whose chunk files fail their check (day → why)."""
    idx = {i: d for d, i in state.complete.items() if d in dates}
    if not idx:
        return {}
    found = damaged_slices(path, sorted(idx), deep=deep)
    for i, msgs in found.items():
        log.warning("%s: slice %s is damaged (%s); rebuilding it", path.name, idx[i], "; ".join(msgs))
    return {idx[i]: "; ".join(msgs) for i, msgs in found.items()}


__all__ = [
    "SENSORS",
    "CubeResult",
    "DayPlan",
    "SensorResult",
    "SpectmError",
    "build_cube",
    "config_hash",
    "cube_path",
    "plan_days",
    "result_json",
    "sensor_settings",
    "summary_rows",
]
