"""Steps 1–3 of the samples contract: one text row -> a :class:`SampleRow` (or a rejection).

1. **Row identity** — :func:`read_identity`: date, site, depth category.
2. **Excel-mangled site names** — :func:`identify_station`: ``1-Aug`` is repaired to the one
   station within :data:`IDENTIFY_DEG` of the row's own position, else the row is rejected.
3. **Cells** — :func:`read_position` (latitude, longitude, depths), :func:`read_time` and
   :func:`read_variables`; an unreadable cell is rejected on its own and the row is kept.

The position cells are read before step 2 because it needs them; the order of the calls in
:func:`read_row` is the order in which rejections reach the report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time

from spectm.samples.sample_row import Ledger, SampleRow, SourceSpec
from spectm.samples.tokens import Parsed, parse_cell

# A mangled site name is attributed to a station only if the row is this close to it
# (visits drift 0.001–0.005° around the median, docs/glerl.md § Stations, cadence and value ranges).
IDENTIFY_DEG = 0.01

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
EXCEL_DATE_RE = re.compile(rf"^(\d{{1,2}}-({_MONTHS})|({_MONTHS})-\d{{1,2}})$", re.IGNORECASE)
TRANSECT_RE = re.compile(r"^T\d+-\d+-[SB]$")
_DEFAULT_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y")
_DEFAULT_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p")
_POSITION_FIELDS = ("lat", "lon", "station_depth_m", "sample_depth_m")

Cell = Callable[[str], str]
"""A row's text in one of spectm's field names ("" when the file has no such column)."""


def _num(text: str) -> float | None:
    """A plain number or None (blank); raises ValueError for anything else."""
    t = text.strip()
    if t == "":
        return None
    v = float(t)
    if not math.isfinite(v):
        raise ValueError(t)
    return v


def _parse_date(text: str, fmt: str | None) -> date | datetime:
    t = text.strip()
    for f in (fmt,) if fmt else _DEFAULT_DATE_FORMATS:
        try:
            dt = datetime.strptime(t, f)
        except ValueError:
            continue
        has_time = fmt is not None and any(c in fmt for c in ("%H", "%I", "%M"))
        return dt if has_time else dt.date()
    raise ValueError(t)


def _parse_time(text: str, fmt: str | None) -> time | None:
    t = text.strip()
    if t == "":
        return None
    for f in (fmt,) if fmt else _DEFAULT_TIME_FORMATS:
        try:
            return datetime.strptime(t, f).time()
        except ValueError:
            continue
    raise ValueError(t)


def _cell_reason(raw: str) -> str:
    if EXCEL_DATE_RE.match(raw.strip()):
        return (
            f"Excel turned a range into a date ('{raw.strip()}' was probably "
            "'10-15'/'5-10'); the single value is unknowable, cell set to missing"
        )
    return f"'{raw.strip()}' is neither a number nor a known token (<x, bdl, nd, ns, blank); cell set to missing"


def read_identity(row: int, cell: Cell, spec: SourceSpec, ledger: Ledger) -> tuple[date | datetime, str, str] | None:
    """Step 1: (date, site, depth category), or None after rejecting the row."""
    cols = spec.columns
    try:
        d = _parse_date(cell("date"), spec.date_format)
    except ValueError:
        expected = spec.date_format or "M/D/YYYY or YYYY-MM-DD"
        ledger.reject(
            row, cols["date"], cell("date"), f"date is blank or not a date in the expected format ({expected})"
        )
        return None
    site = cell("site").strip()
    if not site:
        ledger.reject(row, cols["site"], "", "site / station id is blank")
        return None
    cat_raw = cell("depth_category").strip()
    cat = spec.depth_words.get(cat_raw.lower()) if cat_raw else spec.default_depth_category
    if cat is None:
        ledger.reject(
            row,
            cols.get("depth_category", "depth_category"),
            cat_raw,
            f"depth category '{cat_raw}' is not one of {sorted(set(spec.depth_words))}",
        )
        return None
    return d, site, cat


def read_position(row: int, cell: Cell, spec: SourceSpec, ledger: Ledger) -> dict[str, float | None]:
    """Step 3, first part: latitude, longitude and the two depths (an unreadable or
    out-of-range cell is rejected on its own and set to None)."""
    cols = spec.columns
    keys: dict[str, float | None] = {}
    for fld in _POSITION_FIELDS:
        keys[fld] = None
        if fld not in cols:
            continue
        try:
            v = _num(cell(fld))
            keys[fld] = spec.convert[fld](v) if v is not None and fld in spec.convert else v
        except ValueError:
            ledger.reject(
                row, cols[fld], cell(fld), f"{fld} '{cell(fld)}' is not a number; cell set to missing", "cell"
            )
    lat, lon = keys["lat"], keys["lon"]
    if lat is not None and not -90 <= lat <= 90:
        ledger.reject(row, cols["lat"], lat, "latitude outside -90..90; cell set to missing", "cell")
        keys["lat"] = None
    if lon is not None and not -180 <= lon <= 180:
        ledger.reject(row, cols["lon"], lon, "longitude outside -180..180; cell set to missing", "cell")
        keys["lon"] = None
    return keys


def identify_station(
    row: int,
    site: str,
    cat: str,
    position: tuple[float | None, float | None],
    spec: SourceSpec,
    station_pos: dict[str, tuple[float, float]],
    ledger: Ledger,
) -> tuple[str, str, list[str]] | None:
    """Step 2: (site, station kind, flags); an Excel-mangled site name is repaired to the one
    station near the row's own position, or the row is rejected (None)."""
    key = re.sub(r"\s+", "", site).upper()
    if spec.user:
        return site, "user", []
    if key in station_pos:
        return key, "station", []
    if EXCEL_DATE_RE.match(site):
        return _repair_mangled_site(row, site, position, spec, station_pos, ledger)
    if TRANSECT_RE.match(site) or spec.columns["site"] == "sample_id":
        return site, "transect", []
    return site, "scum" if cat == "scum" else "adhoc", []


def _repair_mangled_site(
    row: int,
    site: str,
    position: tuple[float | None, float | None],
    spec: SourceSpec,
    station_pos: dict[str, tuple[float, float]],
    ledger: Ledger,
) -> tuple[str, str, list[str]] | None:
    lat, lon = position
    near = []
    if lat is not None and lon is not None:
        near = [s for s, (la, lo) in station_pos.items() if math.hypot(lat - la, lon - lo) <= IDENTIFY_DEG]
    if len(near) != 1:
        where = "no coordinates" if lat is None or lon is None else f"({lat}, {lon})"
        ledger.reject(
            row,
            spec.columns["site"],
            site,
            f"site '{site}' is an Excel-mangled date, and the row's position {where} is not within "
            f"{IDENTIFY_DEG}° of exactly one known station, so the station cannot be identified",
        )
        return None
    ledger.repair(
        row, "site", site, near[0], f"Excel-mangled site name; position within {IDENTIFY_DEG}° of {near[0]} only"
    )
    return near[0], "station", ["site_repaired"]


def read_time(row: int, d: date | datetime, cell: Cell, spec: SourceSpec, ledger: Ledger) -> tuple[date, time | None]:
    """Step 3: the local date and time (from the date cell when its format carries a time)."""
    if isinstance(d, datetime):
        return d.date(), d.time()
    try:
        return d, _parse_time(cell("time"), spec.time_format)
    except ValueError:
        ledger.reject(
            row,
            spec.columns["time"],
            cell("time"),
            "time is not H:MM (or the column map's time_format); cell set to missing",
            "cell",
        )
        return d, None


def read_variables(row: int, cell: Cell, spec: SourceSpec, variables: list[str], ledger: Ledger) -> dict[str, Parsed]:
    """Step 3: every variable cell through :func:`parse_cell` (the lab's non-detect words
    become ``bdl``); values in columns of unknown unit are only counted."""
    parsed: dict[str, Parsed] = {}
    for v in variables:
        raw_v = cell(v)
        if raw_v.strip().lower() in spec.nondetect.get(v, ()):
            # The lab's non-detect word: censored at the column's LOD, like 'bdl'.
            parsed[v] = Parsed("bdl", token="nondetect")
            continue
        p = parse_cell(raw_v, spec.extra_missing)
        if p.status == "invalid":
            ledger.reject(row, spec.columns[v], raw_v, _cell_reason(raw_v), "cell")
        parsed[v] = p
    for v in spec.unit_unknown:
        if v in spec.columns and cell(v).strip() != "":
            ledger.not_carried[v] += 1
    return parsed


def read_row(
    row: int,
    rec: dict[str, object],
    spec: SourceSpec,
    variables: list[str],
    station_pos: dict[str, tuple[float, float]],
    ledger: Ledger,
) -> SampleRow | None:
    """Steps 1–3 for one row of text cells; None when the row was rejected."""
    cols = spec.columns

    def cell(fld: str) -> str:
        return str(rec.get(cols[fld], "")) if fld in cols else ""

    identity = read_identity(row, cell, spec, ledger)
    if identity is None:
        return None
    d, site, cat = identity
    keys = read_position(row, cell, spec, ledger)
    station = identify_station(row, site, cat, (keys["lat"], keys["lon"]), spec, station_pos, ledger)
    if station is None:
        return None
    site, kind, flags = station
    day, t = read_time(row, d, cell, spec, ledger)
    parsed = read_variables(row, cell, spec, variables, ledger)
    return SampleRow(
        row=row,
        date=day,
        time=t,
        site=site,
        kind=kind,
        cat=cat,
        lat=keys["lat"],
        lon=keys["lon"],
        station_depth_m=keys["station_depth_m"],
        sample_depth_m=keys["sample_depth_m"],
        parsed=parsed,
        flags=flags,
        sample_temp=parse_cell(cell("sample_temp_c")) if "sample_temp_c" in cols else None,
    )


__all__ = ["EXCEL_DATE_RE", "IDENTIFY_DEG", "TRANSECT_RE", "read_row"]
