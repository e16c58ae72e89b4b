"""Pydantic models for catalogs (regions, sources) and pipelines.

Every model forbids unknown keys (``extra="forbid"``): a typo in a YAML file is
an error naming the key and the file, never a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spectm.errors import ConfigError


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


# --------------------------------------------------------------------------- regions


class Region(Strict):
    """A named area of interest: a lake or part of one (``catalogs/regions/*.yaml``)."""

    name: str
    title: str = ""
    bbox: tuple[float, float, float, float] = Field(description="W, S, E, N in degrees (EPSG:4326)")
    crs: str = Field(description="projected CRS of the analysis grid, e.g. EPSG:32617")
    resolution: dict[str, float] = Field(
        default_factory=lambda: {"pace": 1000.0, "s2": 20.0},
        description="grid cell size in metres per sensor",
    )
    water: str | None = Field(None, description="GeoJSON file (relative to the region file) of the water polygon")
    s2_tiles: list[str] = Field(default_factory=list, description="MGRS tiles covering the region")
    stations: str | None = Field(None, description="station table name in catalogs/stations")
    timezone: str = "America/New_York"
    source_file: str | None = Field(None, exclude=True)

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        from spectm.aoi import validate_bbox
        from spectm.errors import SpectmError

        try:
            return validate_bbox(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None

    @field_validator("resolution")
    @classmethod
    def _check_res(cls, v: dict[str, float]) -> dict[str, float]:
        for k, r in v.items():
            if r <= 0:
                raise ValueError(f"resolution for {k!r} must be positive, got {r}")
        return v


# --------------------------------------------------------------------------- sources


class EarthaccessSource(Strict):
    """A NASA CMR collection searched and downloaded through earthaccess."""

    name: str
    kind: Literal["earthaccess"]
    title: str = ""
    sensor: Literal["pace"] = "pace"
    product: Literal["L2_AOP", "L2_BGC", "L2_IOP", "L3M"]
    short_name: str
    nrt_short_name: str | None = None
    fallback_short_names: list[str] = Field(default_factory=list)
    version: str
    provider: str = "OB_CLOUD"
    granule_name: str | None = None
    doi: str | None = None


class StacSource(Strict):
    """A STAC API collection searched with pystac-client."""

    name: str
    kind: Literal["stac"]
    title: str = ""
    sensor: Literal["s2"] = "s2"
    url: str
    collection: str
    assets: list[str]
    signing: Literal["none", "planetary_computer"] = "none"
    tile_property: str = "grid:code"
    tile_prefix: str = "MGRS-"
    offset_rule: Literal["raster_bands", "baseline"] = "raster_bands"


Source = Annotated[EarthaccessSource | StacSource, Field(discriminator="kind")]


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


class SamplesSection(Strict):
    files: list[str] = Field(default_factory=list, description="GLERL CSVs (empty: the bundled copies)")
    column_map: str | None = None


class Pipeline(Strict):
    """A pipeline file (``pipelines/*.yaml``): one region, one season, its stages."""

    name: str
    description: str = ""
    region: str
    dates: str
    data_dir: str | None = None
    mode: Literal["twin", "real"] = "real"
    stages: list[str] = Field(default_factory=lambda: ["samples"])
    fetch: FetchSection = Field(default_factory=FetchSection)
    twin: TwinSection = Field(default_factory=TwinSection)
    samples: SamplesSection = Field(default_factory=SamplesSection)

    @field_validator("dates", mode="before")
    @classmethod
    def _dates_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("dates")
    @classmethod
    def _check_dates(cls, v: str) -> str:
        from spectm.dates import parse_dates
        from spectm.errors import SpectmError

        try:
            parse_dates(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None
        return v

    @model_validator(mode="after")
    def _check(self) -> Pipeline:
        known = {"samples", "twin", "fetch", "cube", "join", "pretrain", "regress", "evaluate", "predict"}
        bad = [s for s in self.stages if s not in known]
        if bad:
            raise ValueError(f"unknown stage(s) {bad}; known stages: {sorted(known)}")
        return self


M = TypeVar("M", bound=BaseModel)


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<top level>"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif err["type"] == "missing":
            parts.append(f"missing key '{loc}'")
        else:
            parts.append(f"'{loc}': {err['msg']}")
    return "; ".join(parts)


def load_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax problems into :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "check the path") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the YAML syntax") from None


def validate_model(model: type[M], data: Any, path: Path | str) -> M:
    """Validate ``data`` against ``model``; errors name the key and the file."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, found {type(data).__name__}", "see the examples in pipelines/")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_format_validation(exc)}", "fix or remove the key (see the README's configuration section)") from None


def load_pipeline(path: Path | str) -> Pipeline:
    """Load and validate a pipeline YAML file."""
    path = Path(path)
    return validate_model(Pipeline, load_yaml(path), path)
