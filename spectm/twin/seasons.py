"""The twin's seasons: each one simulated on its own, in this process or in worker processes.

Seasons are independent (each one's fields start from its own samples), so several can be
simulated at once; the output does not depend on the number of workers, since every random
draw is seeded by the season, not by the order of work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spectm.dates import DateRange
from spectm.errors import BadInputError
from spectm.twin.drivers import DRIVER_MARGIN_DAYS, Drivers, build_drivers, levels_before
from spectm.twin.fields import FieldModel, Grid, generic_prior
from spectm.twin.launch import as_if_flown
from spectm.twin.pace import TWIN_MODEL, Granule, simulate_day, write_granule
from spectm.twin.s2 import Scene, day_inputs, scene_dates, simulate_scene


@dataclass
class SeasonJob:
    """What every season's simulation shares (pickled once per worker process)."""

    samples: pd.DataFrame | None
    stations: pd.DataFrame
    grid: Grid
    region_box: tuple[float, float, float, float]
    erie: bool
    water: Any
    bbox: tuple[float, float, float, float]
    tiles: list[Any]
    seed: int
    pace_resolution_m: float
    s2_resolution_m: float
    s2_revisit_days: int
    raw: Path


@dataclass
class SeasonOutput:
    season: DateRange
    granules: list[Granule]
    scenes: list[Scene]
    info: dict[str, Any]
    climatology_note: str | None
    phases: dict[str, float]


def season_workers(workers: int | None, n_seasons: int) -> int:
    """Processes for ``n_seasons`` seasons: ``workers``, or one per core (at most 4), never more than seasons."""
    if workers is not None and workers < 1:
        raise BadInputError(f"workers must be ≥ 1, got {workers}", "pass --workers 1 (or more)")
    n = workers if workers is not None else min(os.cpu_count() or 1, 4)
    return max(1, min(n, n_seasons))


def run_seasons(job: SeasonJob, season_list: list[DateRange], n_workers: int) -> Iterator[SeasonOutput]:
    """Each season's output, in season order, from ``n_workers`` processes (1: in this process)."""
    if n_workers == 1:
        for season in season_list:
            yield _simulate_season(job, season)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a forked child would inherit dask/torch threads and locks of the parent
    with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn")) as pool:
        yield from pool.map(_simulate_season, [job] * len(season_list), season_list)


def _simulate_season(job: SeasonJob, season: DateRange) -> SeasonOutput:
    """One season: its drivers and causal fields, a PACE granule a day, its S2 scenes."""
    phases: dict[str, float] = {}
    tp = time.perf_counter()
    drivers: Drivers = build_drivers(
        job.samples, season, job.stations, np.random.default_rng([job.seed, 1, season.start.year]), bbox=job.region_box
    )
    start = season.start - timedelta(days=DRIVER_MARGIN_DAYS)
    prior = None if job.erie else generic_prior(levels_before(job.samples, start, job.region_box))
    fields = FieldModel(drivers, job.grid, job.seed, start=start, prior=prior)
    phases["fields"] = time.perf_counter() - tp
    tp = time.perf_counter()
    granules = []
    for day in season.days():
        sim = simulate_day(
            day,
            fields=fields,
            grid=job.grid,
            water=job.water,
            bbox=job.bbox,
            seed=job.seed,
            resolution_m=job.pace_resolution_m,
        )
        granules.append(write_granule(sim, job.raw / "pace", job.seed))
    phases["pace"] = time.perf_counter() - tp
    tp = time.perf_counter()
    scenes: list[Scene] = []
    if job.tiles:
        for i, day in enumerate(scene_dates(season.start, season.end, job.s2_revisit_days, job.seed)):
            shared = day_inputs(day, fields, job.grid, job.seed, TWIN_MODEL, job.water)
            for tile in job.tiles:
                sc = simulate_scene(
                    tile,
                    day,
                    index=i,
                    fields=fields,
                    grid=job.grid,
                    water_lonlat=job.water,
                    bbox=job.bbox,
                    seed=job.seed,
                    base_res=job.s2_resolution_m,
                    out_root=job.raw / "s2",
                    model=TWIN_MODEL,
                    inputs=shared,
                )
                if sc is not None:
                    scenes.append(sc)
    phases["s2"] = time.perf_counter() - tp
    info = {
        "dates": str(season),
        "drivers": drivers.source,
        "samples_used": drivers.n_samples_used,
        "granules": season.n_days,
        "scenes": len(scenes),
        "as_if_flown": as_if_flown("pace", season.start) is not None,
    }
    note = drivers.note if drivers.source == "climatology" else None
    return SeasonOutput(season, granules, scenes, info, note, phases)
