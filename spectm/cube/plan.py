"""``build-cube --dry-run``: what a build would write, without reading a pixel or writing a byte.

The same catalog scan, settings hash and store inspection as :func:`spectm.cube.build.build_cube`,
so the plan names exactly the days a build would write (new, repaired, rebuilt), the grid,
and the uncompressed size of a slice; a store built with other settings or days before its
end are reported as the refusal the build would give, not raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from spectm.aoi import AOI, parse_bbox
from spectm.cube import catalog
from spectm.cube.build import plan_days
from spectm.cube.cube_settings import SENSORS, config_hash, cube_path, settings_by_sensor
from spectm.cube.grid import region_geobox
from spectm.cube.pace_cube import probe_wavelengths
from spectm.cube.store import repair_plan
from spectm.dates import DateRange, parse_dates
from spectm.errors import BadInputError


@dataclass
class SensorPlan:
    sensor: str
    path: Path
    exists: bool
    grid: tuple[int, int]
    resolution: float
    n_bands: int | None  # None: PACE band count unknown (no granule could be opened)
    items: int
    new: list[date] = field(default_factory=list)
    repair: list[date] = field(default_factory=list)
    rebuild: list[date] = field(default_factory=list)
    complete: int = 0
    days_without_data: int = 0
    refusal: str = ""  # the error a build would stop with ("" = none)
    slice_bytes: int = 0  # uncompressed bytes of one time slice

    @property
    def slices(self) -> int:
        return len(self.new) + len(self.repair) + len(self.rebuild)


def _slice_bytes(sensor: str, n_bands: int, ny: int, nx: int, settings: dict) -> int:
    cells = ny * nx
    if sensor == "pace":  # rrs (+ rrs_unc) float32, valid_count uint8
        return cells * (n_bands * 4 * (2 if settings.get("with_unc") else 1) + 1)
    return cells * (n_bands * 4 + 1)  # reflectance float32, valid_count uint8


def plan_cube(
    aoi: AOI | str,
    dates: DateRange | str,
    *,
    data_dir: Path | str,
    sensors: Sequence[str] = SENSORS,
    flags: str | Sequence[str] | None = None,
    resolution: float | None = None,
    radius_m: float | None = None,
    with_unc: bool = True,
    s2_bands: Sequence[str] | None = None,
    s2_mask_classes: Iterable[int] | None = None,
    force: bool = False,
    force_dates: DateRange | str | None = None,
) -> list[SensorPlan]:
    """One :class:`SensorPlan` per sensor; arguments as :func:`spectm.cube.build.build_cube`."""
    aoi = parse_bbox(aoi, Path(data_dir))
    dates = parse_dates(dates)
    fdates = parse_dates(force_dates) if force_dates is not None else None
    by_sensor = settings_by_sensor(
        sensors,
        aoi,
        flags=flags,
        resolution=resolution,
        radius_m=radius_m,
        with_unc=with_unc,
        s2_bands=s2_bands,
        s2_mask_classes=s2_mask_classes,
    )
    plans = []
    for sensor, settings in by_sensor.items():
        path = cube_path(Path(data_dir), aoi, sensor)
        gb = region_geobox(aoi, settings["resolution"])
        ny, nx = gb.shape
        scan = catalog.scan(Path(data_dir), sensor, aoi, dates)
        n_bands: int | None = len(settings["bands"]) if sensor == "s2" else None
        if sensor == "pace" and scan.by_day:
            try:
                n_bands = len(probe_wavelengths([it for items in scan.by_day.values() for it in items]))
            except BadInputError:
                n_bands = None
        plan = SensorPlan(
            sensor=sensor,
            path=path,
            exists=path.exists(),
            grid=(ny, nx),
            resolution=settings["resolution"],
            n_bands=n_bands,
            items=scan.n_items,
            days_without_data=dates.n_days - len(scan.by_day),
        )
        if n_bands:
            plan.slice_bytes = _slice_bytes(sensor, n_bands, ny, nx, settings)
        state = repair_plan(path, dry_run=True)
        old = state.attrs.get("config_hash")
        if old and old != config_hash(settings):
            plan.refusal = f"{path.name} was built with other settings (config {old}); delete it to rebuild"
        days = plan_days(state, scan.by_day, [dates], {}, force or fdates is not None, fdates)
        plan.new, plan.repair, plan.rebuild, plan.complete = days.new, days.repair, days.force, days.complete
        if not plan.refusal and plan.new and state.last_day and plan.new[0] <= state.last_day:
            plan.refusal = f"{path.name} ends on {state.last_day}; new days from {plan.new[0]} fall before that"
        plans.append(plan)
    return plans


def plan_rows(plans: list[SensorPlan]) -> list[tuple]:
    """Table rows for the CLI: one per sensor."""
    rows = []
    for p in plans:
        size = p.slice_bytes * p.slices
        rows.append(
            (
                p.sensor,
                str(p.path),
                "exists" if p.exists else "new store",
                f"{p.grid[0]} × {p.grid[1]} @ {p.resolution:g} m",
                p.n_bands if p.n_bands is not None else "?",
                p.items,
                len(p.new),
                len(p.repair),
                len(p.rebuild),
                p.complete,
                f"{p.slice_bytes / 2**20:.1f} MiB" if p.slice_bytes else "?",
                f"{size / 2**20:.1f} MiB" if size else "0",
                p.refusal or "-",
            )
        )
    return rows


PLAN_COLUMNS = [
    "sensor",
    "store",
    "store now",
    "grid",
    "bands",
    "items",
    "new days",
    "to repair",
    "to rebuild",
    "already complete",
    "slice (uncompressed)",
    "to write (uncompressed)",
    "would refuse",
]
