"""A scientist's own CSV: a small column-map YAML (their names -> ours, units, time zone).

The YAML is validated by a pydantic model with ``extra="forbid"`` so a typo is an error
naming the key, and every column of the CSV must be either mapped or listed under
``ignore_columns`` — a column is never dropped without the user saying so. Example
(also in docs/samples.md)::

    timezone: America/Chicago
    columns:
      station: SiteID
      date: SampleDate
      time: SampleTime
      lat: Lat
      lon: Lon
      sample_depth: {column: Depth_ft, unit: ft}
    date_format: "%Y-%m-%d"
    default_depth_category: surface
    variables:
      pmc_ugL:
        column: "Microcystin (ng/L)"
        unit: ng/L
        nondetect: {tokens: [ND, "<DL"], lod: 150}   # lod in the column's own unit
      chla_ugL: {column: Chl_a, unit: mg/m3}
      secchi_m: {column: Secchi_cm, unit: cm}
      water_temp_c: {column: Temp_F, unit: degF}
    missing_tokens: ["NA", "-9999"]
    bdl_lod: {pmc_ugL: 0.3}
    ignore_columns: [Notes]
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spectm.config import Strict, load_yaml, validate_model
from spectm.samples.schemas import VARIABLES

DepthCategory = Literal["surface", "bottom", "scum", "mid"]


def _lin(f: float) -> Callable[[float], float]:
    return lambda v: v * f


def _identity(v: float) -> float:
    return v


# Unit groups: accepted spellings -> converter into spectm's unit for that group.
# mg/m³ is µg/L (1 mg per 1000 L) and g/m³ is mg/L: ocean-colour papers and many agencies
# report chlorophyll in mg/m³, the GLERL files in µg/L.
_CONC_UG = {
    "ug/l": 1.0,
    "µg/l": 1.0,
    "mg/m3": 1.0,
    "ppb": 1.0,
    "ng/l": 1e-3,
    "ug/m3": 1e-3,
    "µg/m3": 1e-3,
    "ppt": 1e-3,
    "mg/l": 1e3,
    "g/m3": 1e3,
}
_CONC_MG = {
    "mg/l": 1.0,
    "g/m3": 1.0,
    "ppm": 1.0,
    "ug/l": 1e-3,
    "µg/l": 1e-3,
    "mg/m3": 1e-3,
}
_LENGTH = {"m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "in": 0.0254}
_PER_M = {"1/m": 1.0, "m-1": 1.0, "/m": 1.0}
_NTU = {"ntu": 1.0}
_SPEED = {
    "m/s": 1.0,
    "knots": 0.514444,
    "kn": 0.514444,
    "kt": 0.514444,
    "km/h": 1 / 3.6,
    "mph": 0.44704,
}
_TEMP: dict[str, Callable[[float], float]] = {
    "degc": _identity,
    "c": _identity,
    "°c": _identity,
    "degf": lambda v: (v - 32.0) * 5.0 / 9.0,
    "f": lambda v: (v - 32.0) * 5.0 / 9.0,
    "°f": lambda v: (v - 32.0) * 5.0 / 9.0,
    "k": lambda v: v - 273.15,
}

UNITS: dict[str, dict[str, Callable[[float], float]]] = {}
for _v in ("pmc_ugL", "dmc_ugL", "chla_ugL", "pc_ugL"):
    UNITS[_v] = {u: _lin(f) for u, f in _CONC_UG.items()}
for _v in ("tss_mgL", "vss_mgL", "poc_mgL"):
    UNITS[_v] = {u: _lin(f) for u, f in _CONC_MG.items()}
for _v in ("secchi_m", "sample_depth_m", "station_depth_m"):
    UNITS[_v] = {u: _lin(f) for u, f in _LENGTH.items()}
for _v in ("cdom_a400_m1", "beam_atten_m1"):
    UNITS[_v] = {u: _lin(f) for u, f in _PER_M.items()}
UNITS["turbidity_ntu"] = {u: _lin(f) for u, f in _NTU.items()}
UNITS["wind_speed_ms"] = {u: _lin(f) for u, f in _SPEED.items()}
UNITS["water_temp_c"] = dict(_TEMP)


def unit_key(unit: str) -> str:
    """A unit spelling reduced to one key: case, spaces, Greek mu vs micro sign, ``³``/``^3``
    and ``m-3`` written as ``/m3`` all fold together (``µg/L`` = ``ug/l`` = ``μg l-1``)."""
    k = unit.strip().lower().replace(" ", "").replace("\u03bc", "µ").replace("³", "3")
    k = k.replace("^3", "3").replace("^-1", "-1").replace("**3", "3")
    k = re.sub(r"^([a-zµ]+)m-3$", r"\1/m3", k)  # mgm-3 -> mg/m3
    return re.sub(r"^([a-zµ]+)l-1$", r"\1/l", k)  # ugl-1 -> ug/l


def converter(variable: str, unit: str) -> Callable[[float], float]:
    """The function taking a value in ``unit`` to spectm's unit for ``variable``."""
    table = UNITS[variable]
    key = unit_key(unit)
    if key not in table:
        raise ValueError(f"unit {unit!r} is not supported for {variable} (use one of: {', '.join(sorted(table))})")
    return table[key]


class NonDetect(Strict):
    """The lab's own words for "below the detection limit" in one column.

    A cell equal to one of ``tokens`` (case-insensitive, e.g. ``ND``, ``<DL``) is a censored
    value at ``lod`` (in the column's own unit), not a missing one. Without ``lod`` the limit
    comes from ``bdl_lod`` or, failing that, the smallest detected value of the column in the
    file (see docs/samples.md, Censoring).
    """

    tokens: list[str] = Field(min_length=1)
    lod: float | None = Field(None, gt=0)


class ColumnSpec(Strict):
    """A source column, the unit its values are in and, optionally, its non-detect words."""

    column: str
    unit: str
    nondetect: NonDetect | None = None


class KeyColumns(Strict):
    station: str = Field(description="column with the station / site id")
    date: str = Field(description="column with the local date (or date and time)")
    time: str | None = Field(None, description="column with the local time of day (optional)")
    lat: str
    lon: str
    depth_category: str | None = Field(None, description="column with surface/bottom/... (optional)")
    sample_depth: ColumnSpec | None = None
    station_depth: ColumnSpec | None = None

    @model_validator(mode="after")
    def _check_depths(self) -> KeyColumns:
        for name, spec in (
            ("sample_depth", self.sample_depth),
            ("station_depth", self.station_depth),
        ):
            if spec is not None:
                try:
                    converter(f"{name}_m", spec.unit)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self


class ColumnMap(Strict):
    """A user's CSV described for spectm (see the module docstring for an example)."""

    timezone: str | None = Field(None, description="IANA time zone of the date/time columns, e.g. America/Chicago")
    encoding: str | None = Field(None, description="file encoding; default: UTF-8, falling back to latin-1")
    delimiter: str = ","
    columns: KeyColumns
    date_format: str | None = Field(None, description="strptime format of the date column; default M/D/YYYY or ISO")
    time_format: str | None = Field(None, description="strptime format of the time column; default H:MM[:SS]")
    depth_categories: dict[str, DepthCategory] = Field(
        default_factory=dict,
        description="the CSV's depth-category words -> surface/bottom/scum/mid",
    )
    default_depth_category: DepthCategory | None = Field(
        None, description="category of rows without a depth-category column/value"
    )
    variables: dict[str, ColumnSpec] = Field(default_factory=dict)
    missing_tokens: list[str] = Field(default_factory=list, description="extra tokens meaning 'missing'")
    bdl_lod: dict[str, float] = Field(
        default_factory=dict,
        description="detection limit for 'bdl' cells, in the column's own unit (default: the "
        "smallest detected value of that column in the file)",
    )
    ignore_columns: list[str] = Field(default_factory=list, description="columns deliberately not ingested")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                zoneinfo.ZoneInfo(v)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {v!r} (use an IANA name such as America/New_York or UTC)"
                ) from None
        return v

    @field_validator("variables")
    @classmethod
    def _vars(cls, v: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        for name, spec in v.items():
            if name not in VARIABLES:
                raise ValueError(f"unknown variable {name!r} (spectm variables: {', '.join(VARIABLES)})")
            converter(name, spec.unit)  # raises ValueError naming the accepted units
        return v

    @model_validator(mode="after")
    def _nondetect_lod(self) -> ColumnMap:
        for name, spec in self.variables.items():
            nd = spec.nondetect
            lod = nd.lod if nd is not None else None
            if lod is not None and self.bdl_lod.get(name, lod) != lod:
                raise ValueError(
                    f"{name}: nondetect.lod {lod} and bdl_lod {self.bdl_lod[name]} "
                    "differ (give the detection limit once)"
                )
        return self

    @field_validator("bdl_lod")
    @classmethod
    def _lods(cls, v: dict[str, float]) -> dict[str, float]:
        for name, lod in v.items():
            if name not in VARIABLES:
                raise ValueError(f"unknown variable {name!r} in bdl_lod")
            if not lod > 0:
                raise ValueError(f"bdl_lod for {name} must be positive, got {lod}")
        return v

    @model_validator(mode="after")
    def _depth(self) -> ColumnMap:
        if self.columns.depth_category is None and self.default_depth_category is None:
            raise ValueError("give columns.depth_category or default_depth_category (e.g. surface)")
        return self


def load_column_map(path: Path | str) -> ColumnMap:
    """Read and validate a column-map YAML (ConfigError naming the key on a problem)."""
    return validate_model(ColumnMap, load_yaml(Path(path)), path)
