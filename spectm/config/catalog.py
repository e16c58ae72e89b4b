"""The catalog entries under ``catalogs/``: regions (areas of interest) and data sources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from spectm.bbox import validate_bbox
from spectm.config.base import Strict
from spectm.errors import SpectmError

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
