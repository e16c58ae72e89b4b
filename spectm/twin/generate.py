"""``generate_twin``: write, offline, what ``fetch`` + ``samples ingest`` would have written.

One PACE OCI L2 AOP granule a day, Sentinel-2 scenes every few days on the region's
MGRS tiles, the local STAC catalog, ``raw/manifest.json`` and ``insitu/samples.parquet``
(the real GLERL samples, through :func:`spectm.samples.ingest_samples`). Everything is
a deterministic function of the parameters and ``seed``; the parameters are hashed into
the manifest so a second call with the same parameters is a no-op (status ``skipped``).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spectm.aoi import AOI, parse_bbox
from spectm.catalogs import load_stations
from spectm.console import log, progress
from spectm.contract import StageResult
from spectm.dates import DateRange, parse_dates, parse_months
from spectm.dates import seasons as split_seasons
from spectm.errors import BadInputError, ConfigError
from spectm.fetch.manifest import MANIFEST_NAME, read_manifest
from spectm.provenance import config_key
from spectm.samples.ingest import ingest_samples, output_paths
from spectm.twin.catalog import write_catalog, write_manifest
from spectm.twin.fields import Grid, has_maumee
from spectm.twin.launch import LAUNCH, as_if_flown
from spectm.twin.pace import Granule
from spectm.twin.s2 import Scene, parse_tile
from spectm.twin.seasons import SeasonJob, run_seasons, season_workers

GENERATOR_VERSION = 2  # 2: causal fields, several seasons
MAX_SEASON_DAYS = 400
IN_PROGRESS = ".twin_in_progress"  # in raw/ while a run writes; holds its parameter hash


@dataclass(kw_only=True)
class TwinResult(StageResult):
    """What a twin generation did (``done``) or found complete for the same parameters (``skipped``)."""

    stage: str = "twin"
    data_dir: Path
    params_hash: str
    n_granules: int = 0
    n_scenes: int = 0
    bytes_written: int = 0
    drivers_source: str = ""
    notes: list[str] = field(default_factory=list)
    granules: list[Path] = field(default_factory=list)
    scenes: list[str] = field(default_factory=list)
    samples_path: Path | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)  # fields, pace, s2, catalog
    n_seasons: int = 1

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        raw = Path(self.data_dir) / "raw"
        outputs: list[str | Path] = [raw / MANIFEST_NAME, raw / "catalog" / "catalog.json"]
        counts: dict[str, int | float] = {
            "granules": self.n_granules,
            "scenes": self.n_scenes,
            "bytes": self.bytes_written,
        }
        if self.status == "skipped":
            return f"raw/ is complete for the same parameters (hash {self.params_hash})", outputs, counts
        seasons = f" over {self.n_seasons} seasons" if self.n_seasons > 1 else ""
        s = (
            f"{self.n_granules} PACE granules, {self.n_scenes} Sentinel-2 scenes{seasons}, "
            f"{self.bytes_written / 1e6:.1f} MB in {self.seconds:.1f} s; constituents from {self.drivers_source}"
        )
        return s + ("; " + "; ".join(self.notes) if self.notes else ""), outputs, counts


def params_hash(params: dict[str, Any]) -> str:
    """The twin's key in ``raw/manifest.json`` (its own JSON spacing, kept so existing twins stay complete)."""
    return config_key(params, 16, separators=(", ", ": "))


def _load_samples(data_dir: Path, notes: list[str]) -> tuple[pd.DataFrame, Path]:
    """The samples of ``insitu/samples.parquet`` when it exists (the user's own, after
    ``spectm samples ingest``: never overwritten), else the bundled GLERL samples as the
    samples stage writes them there."""
    path = output_paths(data_dir)["samples"]
    if path.is_file():  # read as plain Parquet: the table need not carry GeoParquet metadata
        notes.append("constituents driven by the existing insitu/samples.parquet (left as it is)")
        table = pd.read_parquet(path)
    else:
        table = ingest_samples(files=None, data_dir=data_dir).samples  # what it wrote, not read back
    return pd.DataFrame(table.drop(columns=["geometry"], errors="ignore")), path


def _complete(data_dir: Path, phash: str) -> bool:
    try:
        m = read_manifest(data_dir / "raw" / MANIFEST_NAME)
    except ConfigError:  # unreadable: not complete, regenerated
        return False
    if m is None or m.get("generator") != "twin" or m.get("twin", {}).get("params_hash") != phash:
        return False
    return all(
        (data_dir / it["path"]).is_file() and (data_dir / it["path"]).stat().st_size == it["bytes"]
        for it in m.get("items", [])
    )


def generate_twin(
    region: str | AOI,
    dates: str | DateRange,
    *,
    data_dir: Path | str,
    months: str | tuple[int, int] | None = None,
    seasons: list[int] | None = None,
    seed: int = 0,
    pace_resolution_m: float = 1200.0,
    s2_resolution_m: float = 60.0,
    s2_revisit_days: int = 5,
    include_s2: bool = True,
    samples: pd.DataFrame | None = None,
    use_samples_stage: bool = True,
    physics_step_deg: float = 0.005,
    force: bool = False,
    workers: int | None = None,
) -> TwinResult:
    """Generate the Lake Erie twin for ``region`` and ``dates`` into ``data_dir``.

    ``months`` (``"6-10"``) splits a multi-year ``dates`` into one season per year (only
    those months are generated); ``seasons`` keeps only those years. Each season is driven
    by its own samples and simulated separately (memory is one season's fields at a time);
    all of them go into one catalog and manifest.

    ``samples`` (a samples table as in docs/data-layout.md) drives the constituent
    fields; if None and ``use_samples_stage``, the real GLERL samples are ingested with
    :func:`spectm.samples.ingest_samples` (writing insitu/samples.parquet). A season without
    enough samples is driven by climatology (the summary says so, in one line).

    Seasons are independent (each one's fields start from its own samples), so several are
    simulated at once in ``workers`` processes (default: one per CPU core, at most 4 and at most
    one per season; each holds one season's fields, ~0.6 GiB). The output does not depend on
    ``workers``: every random draw is seeded by the season, not by the order of work.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    aoi = parse_bbox(region, data_dir) if not isinstance(region, AOI) else region
    dr = parse_dates(dates)
    mon = parse_months(months)
    season_list = split_seasons(dr, mon, seasons)
    _check(season_list, pace_resolution_m, s2_resolution_m)
    params: dict[str, Any] = {
        "generator": GENERATOR_VERSION,
        "region": aoi.name,
        "bbox": list(aoi.bbox),
        "dates": str(dr),
        "seed": seed,
        "pace_resolution_m": pace_resolution_m,
        "s2_resolution_m": s2_resolution_m,
        "s2_revisit_days": s2_revisit_days,
        "include_s2": include_s2,
        "physics_step_deg": physics_step_deg,
        "samples": "given" if samples is not None else ("stage" if use_samples_stage else "none"),
    }
    if mon is not None or seasons is not None:
        params["seasons"] = [str(x) for x in season_list]
    phash = params_hash(params)
    if not force and _complete(data_dir, phash):
        return TwinResult(
            status="skipped",
            data_dir=data_dir,
            params_hash=phash,
            drivers_source="(unchanged)",
            notes=["output complete for the same parameters"],
            seconds=time.perf_counter() - t0,
        )
    raw = data_dir / "raw"
    notes = _prepare_raw(raw, phash, force)
    samples_path = None
    if samples is None and use_samples_stage:
        samples, samples_path = _load_samples(data_dir, notes)
    job = _season_job(
        aoi,
        data_dir,
        samples,
        notes,
        include_s2=include_s2,
        physics_step_deg=physics_step_deg,
        seed=seed,
        pace_resolution_m=pace_resolution_m,
        s2_resolution_m=s2_resolution_m,
        s2_revisit_days=s2_revisit_days,
    )
    sim = _simulate(job, season_list, workers)
    notes += sim.notes(season_list)
    tp = time.perf_counter()
    write_catalog(raw, sim.granules, sim.scenes)
    twin_info = {
        "params": params,
        "params_hash": phash,
        "drivers": sim.drivers_source,
        "drivers_samples_used": sum(x["samples_used"] for x in sim.season_info),
        "notes": notes,
        "seasons": sim.season_info,
    }
    man_dates = {"start": dr.start.isoformat(), "end": dr.end.isoformat()}
    if mon is not None:
        man_dates["months"] = f"{mon[0]}-{mon[1]}"
    write_manifest(
        data_dir,
        region={"name": aoi.name, "bbox": list(aoi.bbox)},
        dates=man_dates,
        granules=sim.granules,
        scenes=sim.scenes,
        twin_info=twin_info,
    )
    (raw / IN_PROGRESS).unlink()
    sim.phases["catalog"] = time.perf_counter() - tp
    total = sum(f.stat().st_size for f in raw.rglob("*") if f.is_file())
    res = TwinResult(
        status="done",
        data_dir=data_dir,
        params_hash=phash,
        n_granules=len(sim.granules),
        n_scenes=len(sim.scenes),
        bytes_written=total,
        seconds=time.perf_counter() - t0,
        drivers_source=sim.drivers_source,
        notes=notes,
        granules=[g.path for g in sim.granules],
        scenes=[s.item_id for s in sim.scenes],
        samples_path=samples_path,
        phase_seconds={k: round(v, 2) for k, v in sim.phases.items()},
        n_seasons=len(season_list),
    )
    log.info("twin: %s", res.summary)
    return res


def _check(season_list: list[DateRange], pace_resolution_m: float, s2_resolution_m: float) -> None:
    """Refuse resolutions no sensor has and seasons too long to hold in memory."""
    for name, val in (("pace_resolution_m", pace_resolution_m), ("s2_resolution_m", s2_resolution_m)):
        if not (val > 0 and np.isfinite(val)):
            raise BadInputError(f"{name} must be a positive number of metres, got {val}", f"pass e.g. {name}=1200")
    if pace_resolution_m < 250 or s2_resolution_m < 10:
        raise BadInputError(
            f"resolution too fine (PACE {pace_resolution_m} m, S2 {s2_resolution_m} m)",
            "PACE OCI is ≥ 250 m (nominal 1.2 km); Sentinel-2's finest band is 10 m",
        )
    for season in season_list:
        if season.n_days > MAX_SEASON_DAYS:
            raise BadInputError(
                f"season {season} is {season.n_days} days (at most {MAX_SEASON_DAYS} per season)",
                "pass --months (e.g. 6-10) to split a multi-year --dates into one season per year",
            )


def _prepare_raw(raw: Path, phash: str, force: bool) -> list[str]:
    """Empty ``raw/`` for this run and mark it in progress; refuse to replace other data unless ``force``.

    Returns the notes for the summary (an interrupted run of the same parameters is regenerated).
    """
    marker = raw / IN_PROGRESS
    notes: list[str] = []
    if marker.is_file() and not force:
        if marker.read_text(encoding="utf-8").strip() != phash:
            raise BadInputError(
                f"{raw} holds an interrupted twin run with other parameters",
                "interrupted; re-run with --force to replace it",
            )
        notes.append("an interrupted run with the same parameters was found and regenerated")
    elif raw.exists() and any(raw.iterdir()) and not force:
        raise BadInputError(
            f"{raw} already holds raw data from other parameters or from fetch",
            "pass --force to replace it, or choose another --data-dir",
        )
    if raw.exists():
        shutil.rmtree(raw)
    (raw / "pace").mkdir(parents=True)
    (raw / "s2").mkdir(parents=True)
    marker.write_text(phash, encoding="utf-8")  # removed once the manifest is written
    return notes


def _season_job(
    aoi: AOI,
    data_dir: Path,
    samples: pd.DataFrame | None,
    notes: list[str],
    *,
    include_s2: bool,
    physics_step_deg: float,
    seed: int,
    pace_resolution_m: float,
    s2_resolution_m: float,
    s2_revisit_days: int,
) -> SeasonJob:
    """What every season shares: stations, physics grid, water, S2 tiles and the run's settings."""
    stations = load_stations(aoi.stations or "glerl_western_lake_erie", data_dir)
    grid = Grid.covering(aoi.bbox, physics_step_deg)
    region_box = (float(grid.lon[0]), float(grid.lat[0]), float(grid.lon[-1]), float(grid.lat[-1]))
    erie = has_maumee(aoi.bbox)
    if not erie:
        notes.append(
            "the region does not reach the Maumee River mouth: a uniform bloom-season prior at the "
            "levels of the region's own earlier samples (docs/twin.md)"
        )
    tiles = [parse_tile(c, (aoi.bbox[1] + aoi.bbox[3]) / 2) for c in aoi.s2_tiles] if include_s2 else []
    if include_s2 and not tiles:
        notes.append("region lists no s2_tiles: no Sentinel-2 scenes")
    return SeasonJob(
        samples=samples,
        stations=stations,
        grid=grid,
        region_box=region_box,
        erie=erie,
        water=aoi.water_or_geometry,
        bbox=aoi.bbox,
        tiles=tiles,
        seed=seed,
        pace_resolution_m=pace_resolution_m,
        s2_resolution_m=s2_resolution_m,
        s2_revisit_days=s2_revisit_days,
        raw=data_dir / "raw",
    )


@dataclass
class _Simulated:
    """Every season's output, gathered in season order."""

    granules: list[Granule] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    season_info: list[dict[str, Any]] = field(default_factory=list)
    climatology: list[tuple[DateRange, str]] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("fields", "pace", "s2"), 0.0))

    @property
    def drivers_source(self) -> str:
        sources = sorted({x["drivers"] for x in self.season_info})
        return sources[0] if len(sources) == 1 else "+".join(sources)

    def notes(self, season_list: list[DateRange]) -> list[str]:
        """Seasons driven by climatology, and seasons before PACE's launch, in one line each."""
        notes = []
        if self.climatology:
            if len(season_list) == 1:
                notes.append(self.climatology[0][1])
            else:
                notes.append(
                    f"{len(self.climatology)} of {len(season_list)} seasons from climatology (no samples: "
                    + ", ".join(str(x.start.year) for x, _ in self.climatology)
                    + ")"
                )
        early = [x for x in season_list if as_if_flown("pace", x.start)]
        if early:
            notes.append(
                f"{len(early)} season(s) before PACE's launch ({LAUNCH['pace']}) simulated as if OCI had flown"
            )
        return notes


def _simulate(job: SeasonJob, season_list: list[DateRange], workers: int | None) -> _Simulated:
    sim = _Simulated()
    with progress() as p:
        task = p.add_task("twin seasons (PACE + Sentinel-2)", total=len(season_list))
        for out in run_seasons(job, season_list, season_workers(workers, len(season_list))):
            sim.granules += out.granules
            sim.scenes += out.scenes
            sim.season_info.append(out.info)
            if out.climatology_note is not None:
                sim.climatology.append((out.season, out.climatology_note))
            for k, v in out.phases.items():
                sim.phases[k] += v
            p.advance(task)
    return sim
