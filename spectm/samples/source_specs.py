"""How to read one file: a :class:`SourceSpec` from a GLERL layout or from a user's column map.

The spec names, for each of spectm's fields, the file's column, its unit conversion, the
time zone, the date format and the lab's own words for depth categories and non-detects;
:func:`spectm.samples.normalize.normalize` applies the contract through it.
"""

from __future__ import annotations

from pathlib import Path

from spectm.errors import SchemaError
from spectm.samples.column_map import ColumnMap, converter
from spectm.samples.sample_row import DEPTH_WORDS, SourceSpec
from spectm.samples.schemas import detect_schema


def spec_for_glerl(path: Path, headers: list[str], timezone: str) -> SourceSpec:
    """A bundled GLERL file: its layout detected from the headers (:mod:`spectm.samples.schemas`)."""
    det = detect_schema(headers, path)
    return SourceSpec(
        schema=det.family.name,
        columns=det.columns,
        ignored=det.ignored,
        convert=dict(det.family.convert),
        unit_unknown=det.family.unit_unknown,
        timezone=timezone,
    )


def spec_for_user(path: Path, headers: list[str], cmap: ColumnMap, timezone: str) -> SourceSpec:
    """A user's CSV read through its column map; every column must be mapped or ignored."""
    c = cmap.columns
    columns: dict[str, str] = {"date": c.date, "site": c.station, "lat": c.lat, "lon": c.lon}
    convert = {}
    if c.time:
        columns["time"] = c.time
    if c.depth_category:
        columns["depth_category"] = c.depth_category
    for fld, spec in (("sample_depth_m", c.sample_depth), ("station_depth_m", c.station_depth)):
        if spec is not None:
            columns[fld] = spec.column
            convert[fld] = converter(fld, spec.unit)
    nondetect: dict[str, frozenset[str]] = {}
    lods = dict(cmap.bdl_lod)
    for v, spec in cmap.variables.items():
        columns[v] = spec.column
        convert[v] = converter(v, spec.unit)
        if spec.nondetect is not None:
            nondetect[v] = frozenset(t.strip().lower() for t in spec.nondetect.tokens)
            if spec.nondetect.lod is not None:
                lods[v] = spec.nondetect.lod
    missing = [h for h in columns.values() if h not in headers]
    ignore = set(cmap.ignore_columns)
    unknown = [h for h in headers if h not in set(columns.values()) | ignore]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"the column map names column(s) {missing} that the file lacks")
        if unknown:
            parts.append(f"column(s) {unknown} are neither mapped nor listed under ignore_columns")
        raise SchemaError(
            f"{path.name}: " + "; ".join(parts),
            "fix the column map: map each column under columns/variables or list it in ignore_columns",
        )
    words = dict(DEPTH_WORDS)
    words.update({k.strip().lower(): v for k, v in cmap.depth_categories.items()})
    return SourceSpec(
        schema="user",
        columns=columns,
        ignored=tuple(h for h in headers if h in ignore),
        convert=convert,
        timezone=timezone,
        date_format=cmap.date_format,
        time_format=cmap.time_format,
        depth_words=words,
        default_depth_category=cmap.default_depth_category,
        user=True,
        extra_missing=frozenset(t.strip().lower() for t in cmap.missing_tokens),
        bdl_lod=lods,
        nondetect=nondetect,
    )


__all__ = ["spec_for_glerl", "spec_for_user"]
