"""Pipeline sections of the data stages: fetch, twin, cube, samples and join."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from spectm.config.base import Strict

# --------------------------------------------------------------------------- pipelines


class FetchSection(Strict):
    sources: list[str] = Field(default_factory=lambda: ["pace_oci_l2_aop", "s2_earth_search"])
    max_cloud_cover: float = Field(80.0, ge=0, le=100)
    threads: int = Field(4, ge=1, le=32)
    clip: bool = True


class TwinSection(Strict):
    seed: int = 0
    pace_resolution_m: float = Field(1200.0, gt=0)
    s2_resolution_m: float = Field(60.0, gt=0)
    s2_revisit_days: int = Field(5, ge=1)
    workers: int | None = Field(
        None, ge=1, description="processes simulating seasons at once (default: one per core, at most 4)"
    )


class CubeSection(Strict):
    """``cube:`` — the ``cube`` stage (``spectm build-cube``; docs/cube.md). ``None`` = the region's default."""

    sensors: list[Literal["pace", "s2"]] = Field(default_factory=lambda: ["pace", "s2"], min_length=1)
    pace_resolution_m: float | None = Field(None, gt=0, description="PACE grid cell (default: the region's)")
    s2_resolution_m: float | None = Field(None, gt=0, description="Sentinel-2 grid cell (default: the region's)")
    flags: list[str] | None = Field(None, description="l2_flags names that mask a PACE pixel (default: NASA's L3 mask)")
    scheduler: str | None = Field(None, description="address of an existing Dask scheduler (default: a LocalCluster)")
    workers: int | None = Field(None, ge=1, description="LocalCluster workers (default: automatic)")
    memory_limit: str = Field("2GB", description="LocalCluster memory limit per worker")


class SamplesSection(Strict):
    files: list[str] = Field(default_factory=list, description="GLERL CSVs (empty: the bundled copies)")
    column_map: str | None = None


# --------------------------------------------------------------------------- join (spectm.join)


class JoinSection(Strict):
    """``join:`` — match-ups and the feature store (``spectm join``; docs/features.md)."""

    name: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="features/<name>/")
    cube: str | None = Field(None, description="cube region name (cubes/<cube>_<sensor>.zarr); default: the only one")
    sensor: Literal["pace", "s2"] = "pace"
    time_window_days: int = Field(1, ge=0, le=7, description="|local-date offset| allowed around the target day")
    lead_days: int = Field(8, ge=1, le=30, description="ahead horizon: imagery this many days before the sample")
    pixel_window: int = Field(3, ge=1, le=15, description="odd side of the square pixel window")
    min_valid_fraction: float = Field(0.5, gt=0, le=1, description="valid pixels / window pixels")
    aggregation: Literal["median", "mean"] = "median"
    include_scum: bool = False
    label: str = Field("pmc_ugL", description="samples column a sample must have (value or censored)")
    chip_size: int = Field(8, ge=2, le=256)
    chip_time: int = Field(1, ge=1, le=16, description="time steps per chip (the last is 'now')")
    chip_lookback_days: int = Field(24, ge=0, description="how far back history steps may be searched")
    chip_min_valid: float = Field(0.5, gt=0, le=1, description="valid share of a chip (history, unlabeled)")
    unlabeled_per_date: int = Field(32, ge=0, description="unlabeled pretraining chips per cube date (0: none)")
    min_water_fraction: float = Field(0.5, gt=0, le=1, description="water share of an unlabeled chip")
    seed: int = 0
    split: Literal["auto", "season", "period", "time", "station"] = Field(
        "auto",
        description="auto: season when the samples cover ≥ 3 seasons, else period; season: whole "
        "seasons; period: contiguous train/val/test per season; time: date blocks; station",
    )
    val_seasons: list[int] = Field(
        default_factory=list, description="season split: validation season(s) (default: the one before the test season)"
    )
    test_seasons: list[int] = Field(
        default_factory=list, description="season split: test season(s) (default: the last season)"
    )
    period_fractions: tuple[float, float, float] = Field(
        (0.6, 0.2, 0.2), description="period split: shares of each season's sampling days (train, val, test)"
    )
    block_days: int = Field(14, ge=0, description="time split: block length in days (0: one block per season)")
    test_stations: list[str] = Field(default_factory=list, description="station split: held-out stations")
    val_stations: list[str] = Field(default_factory=list)
    buffer_km: float = Field(2.0, ge=0, description="leakage buffer in space")
    buffer_days: int = Field(2, ge=0, description="leakage buffer in time")

    @field_validator("pixel_window")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 != 1:
            raise ValueError(f"pixel_window must be odd (1, 3, 5, ...), got {v}")
        return v

    @field_validator("period_fractions")
    @classmethod
    def _fractions(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(v) <= 0 or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"period_fractions must be three positive shares summing to 1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _chip_holds_window(self) -> JoinSection:
        if self.chip_size < self.pixel_window:
            raise ValueError(f"chip_size {self.chip_size} is smaller than pixel_window {self.pixel_window}")
        return self
