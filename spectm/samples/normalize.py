"""Turn one parsed CSV (all cells as text) into tidy sample rows, a rejected list and counts.

This is where every rule of the samples contract lives, in the order it is applied:

1. **Row identity.** Date (local, ``M/D/YYYY`` or ISO unless the column map says
   otherwise), site, depth category (``Surface/S``, ``Bottom/B``, ``Scum``,
   ``Mid-column``). A row without a parseable date, site or depth category is rejected.
2. **Excel-mangled site names** (``1-Aug``, ``2-Aug``): repaired only when the row's own
   coordinates lie within :data:`IDENTIFY_DEG` of exactly one known station, else rejected.
3. **Cells.** Every variable cell goes through :func:`spectm.samples.tokens.parse_cell`;
   ``<x`` and ``bdl`` become censored values (value = LOD, ``_censored`` True, ``_lod``),
   missing tokens are NaN and counted per token (over kept rows), an unreadable cell is rejected on its own
   (the row is kept, the cell goes to the rejected report with ``scope = cell``).
4. **Bad coordinates.** A station visit more than :data:`REPAIR_DEG` from the station's
   median position (``catalogs/stations``) gets the median for that coordinate, flagged
   ``lat_repaired`` / ``lon_repaired`` and logged as a repair.
5. **Inheritance.** Bottom, mid-column and scum rows without time / position / station
   depth take them from the surface row of the same site and date (docs/glerl.md § Files and schema families), flagged
   ``inherited_from_surface``. A station row still without a position gets the station
   median (``position_from_station_median``); a non-station row without one is rejected.
6. **Quality flags.** ``position_near_other_station`` (a repaired visit whose reported
   position is another station's: a position mix-up, or possibly a label mix-up), ``time_missing``, ``surface_depth_zero``, ``sample_depth_filled``
   (blank scum depth set to 0 m like every other scum row), ``scum_like_value`` (a non-scum
   row above :data:`SCUM_LIKE`), ``water_temp_from_sample`` (2012: CTD blank, the sample
   thermometer reading used), ``<var>_reported_pm_<u>`` (``2778.75 ± 294`` kept as 2778.75).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from spectm.samples.lod import FIXED_BDL_LOD
from spectm.samples.schemas import VARIABLES
from spectm.samples.tokens import Parsed, parse_cell

# A visit farther than this from its station's median position has a bad coordinate.
REPAIR_DEG = 0.05
# A mangled site name is attributed to a station only if the row is this close to it
# (visits drift 0.001–0.005° around the median, docs/glerl.md § Stations, cadence and value ranges).
IDENTIFY_DEG = 0.01
# Non-scum rows above these are scum-like (kept, flagged): ~10x the 95th percentile of
# surface station samples 2012–2024 (docs/glerl.md: Chl p95 96.5, PC p95 80.3, PMC p95 8.0).
SCUM_LIKE: dict[str, float] = {"chla_ugL": 1000.0, "pc_ugL": 1000.0, "pmc_ugL": 100.0}

DEPTH_WORDS: dict[str, str] = {
    "surface": "surface",
    "s": "surface",
    "bottom": "bottom",
    "b": "bottom",
    "scum": "scum",
    "mid-column": "mid",
    "mid column": "mid",
    "mid": "mid",
    "m": "mid",
}
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
EXCEL_DATE_RE = re.compile(rf"^(\d{{1,2}}-({_MONTHS})|({_MONTHS})-\d{{1,2}})$", re.IGNORECASE)
TRANSECT_RE = re.compile(r"^T\d+-\d+-[SB]$")
_DEFAULT_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y")
_DEFAULT_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p")


@dataclass
class SourceSpec:
    """How to read one file's columns (from a GLERL family or a user's column map)."""

    schema: str
    columns: dict[str, str]
    ignored: tuple[str, ...] = ()
    convert: dict[str, Callable[[float], float]] = field(default_factory=dict)
    unit_unknown: tuple[str, ...] = ()
    timezone: str = "America/New_York"
    date_format: str | None = None
    time_format: str | None = None
    depth_words: dict[str, str] = field(default_factory=lambda: dict(DEPTH_WORDS))
    default_depth_category: str | None = None
    user: bool = False
    extra_missing: frozenset[str] = frozenset()
    bdl_lod: dict[str, float] = field(default_factory=dict)
    # Per variable: the lab's non-detect words (lower case) -> a censored value at the LOD.
    nondetect: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class FileOutcome:
    """Everything one file produced."""

    rows: pd.DataFrame
    rejected: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    rows_read: int
    missing: dict[str, dict[str, int]]
    censored: dict[str, int]
    detected: dict[str, int]
    bdl_lods: dict[str, float]
    flags: dict[str, int]
    not_carried_values: dict[str, int]
    nondetect: dict[str, int] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return len(self.rows)

    @property
    def rows_rejected(self) -> int:
        return len({r["row"] for r in self.rejected if r["scope"] == "row"})

    @property
    def cells_rejected(self) -> int:
        return sum(1 for r in self.rejected if r["scope"] == "cell")


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


def _cell_reason(var: str, raw: str) -> str:
    if EXCEL_DATE_RE.match(raw.strip()):
        return (
            f"Excel turned a range into a date ('{raw.strip()}' was probably "
            "'10-15'/'5-10'); the single value is unknowable, cell set to missing"
        )
    return f"'{raw.strip()}' is neither a number nor a known token (<x, bdl, nd, ns, blank); cell set to missing"


def normalize(
    raw: pd.DataFrame,
    spec: SourceSpec,
    file_name: str,
    stations: pd.DataFrame | None,
) -> FileOutcome:
    """Apply the samples contract to one file's text cells (see the module docstring)."""
    tz = ZoneInfo(spec.timezone)
    cols = spec.columns
    station_pos: dict[str, tuple[float, float]] = {}
    if stations is not None and not spec.user:
        for s in stations.itertuples(index=False):
            station_pos[str(s.station).upper()] = (float(s.lat), float(s.lon))
    variables = [v for v in VARIABLES if v in cols and v not in spec.unit_unknown]
    rejected: list[dict[str, Any]] = []
    repairs: list[dict[str, Any]] = []
    missing: dict[str, Counter[str]] = defaultdict(Counter)
    not_carried = Counter({v: 0 for v in spec.unit_unknown if v in cols})
    nondetect_n: Counter[str] = Counter()

    def reject(row: int, column: str, value: object, reason: str, scope: str = "row") -> None:
        rejected.append(
            {
                "file": file_name,
                "row": row,
                "column": column,
                "value": "" if value is None else str(value),
                "reason": reason,
                "scope": scope,
            }
        )

    records: list[dict[str, Any]] = []
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 1

        def cell(fld: str, rec: dict[str, Any] = rec) -> str:
            return str(rec.get(cols[fld], "")) if fld in cols else ""

        # ---- identity: date, site, depth category
        try:
            d = _parse_date(cell("date"), spec.date_format)
        except ValueError:
            reject(
                row,
                cols["date"],
                cell("date"),
                f"date is blank or not a date in the expected format ({spec.date_format or 'M/D/YYYY or YYYY-MM-DD'})",
            )
            continue
        site = cell("site").strip()
        if not site:
            reject(row, cols["site"], "", "site / station id is blank")
            continue
        cat_raw = cell("depth_category").strip()
        cat = spec.depth_words.get(cat_raw.lower()) if cat_raw else spec.default_depth_category
        if cat is None:
            reject(
                row,
                cols.get("depth_category", "depth_category"),
                cat_raw,
                f"depth category '{cat_raw}' is not one of {sorted(set(spec.depth_words))}",
            )
            continue
        flags: list[str] = []
        # ---- position and depths (cells rejected individually)
        keys: dict[str, float | None] = {}
        for fld in ("lat", "lon", "station_depth_m", "sample_depth_m"):
            if fld not in cols:
                keys[fld] = None
                continue
            try:
                v = _num(cell(fld))
                if v is not None and fld in spec.convert:
                    v = spec.convert[fld](v)
                keys[fld] = v
            except ValueError:
                keys[fld] = None
                reject(
                    row,
                    cols[fld],
                    cell(fld),
                    f"{fld} '{cell(fld)}' is not a number; cell set to missing",
                    "cell",
                )
        lat, lon = keys["lat"], keys["lon"]
        if lat is not None and not -90 <= lat <= 90:
            reject(row, cols["lat"], lat, "latitude outside -90..90; cell set to missing", "cell")
            lat = None
        if lon is not None and not -180 <= lon <= 180:
            reject(row, cols["lon"], lon, "longitude outside -180..180; cell set to missing", "cell")
            lon = None
        # ---- station identity
        key = re.sub(r"\s+", "", site).upper()
        if spec.user:
            kind = "user"
        elif key in station_pos:
            kind = "station"
            site = key
        elif EXCEL_DATE_RE.match(site):
            near = []
            if lat is not None and lon is not None:
                near = [s for s, (la, lo) in station_pos.items() if math.hypot(lat - la, lon - lo) <= IDENTIFY_DEG]
            if len(near) != 1:
                where = "no coordinates" if lat is None or lon is None else f"({lat}, {lon})"
                reject(
                    row,
                    cols["site"],
                    site,
                    f"site '{site}' is an Excel-mangled date, and the row's position {where} is not within "
                    f"{IDENTIFY_DEG}° of exactly one known station, so the station cannot be identified",
                )
                continue
            repairs.append(
                {
                    "file": file_name,
                    "row": row,
                    "column": cols["site"],
                    "old": site,
                    "new": near[0],
                    "reason": f"Excel-mangled site name; position within {IDENTIFY_DEG}° of {near[0]} only",
                }
            )
            flags.append("site_repaired")
            site, kind = near[0], "station"
        elif TRANSECT_RE.match(site) or cols["site"] == "sample_id":
            kind = "transect"
        else:
            kind = "scum" if cat == "scum" else "adhoc"
        # ---- time
        t: time | None
        if isinstance(d, datetime):
            t, d = d.time(), d.date()
        else:
            try:
                t = _parse_time(cell("time"), spec.time_format)
            except ValueError:
                t = None
                reject(
                    row,
                    cols["time"],
                    cell("time"),
                    "time is not H:MM (or the column map's time_format); cell set to missing",
                    "cell",
                )
        # ---- variables
        parsed: dict[str, Parsed] = {}
        for v in variables:
            raw_v = cell(v)
            if raw_v.strip().lower() in spec.nondetect.get(v, ()):
                # The lab's non-detect word: censored at the column's LOD, like 'bdl'.
                parsed[v] = Parsed("bdl", token="nondetect")
                continue
            p = parse_cell(raw_v, spec.extra_missing)
            if p.status == "invalid":
                reject(row, cols[v], raw_v, _cell_reason(v, raw_v), "cell")
            parsed[v] = p
        for v in spec.unit_unknown:
            if v in cols and cell(v).strip() != "":
                not_carried[v] += 1
        sample_temp: Parsed | None = parse_cell(cell("sample_temp_c")) if "sample_temp_c" in cols else None
        records.append(
            {
                "row": row,
                "date": d,
                "time": t,
                "site": site,
                "kind": kind,
                "cat": cat,
                "lat": lat,
                "lon": lon,
                "station_depth_m": keys["station_depth_m"],
                "sample_depth_m": keys["sample_depth_m"],
                "parsed": parsed,
                "flags": flags,
                "sample_temp": sample_temp,
            }
        )

    # ---- detection limits for 'bdl': fixed (ELISA microcystin) or the file's smallest detected value
    bdl_lods: dict[str, float] = {}
    for v in variables:
        if not any(r["parsed"][v].status == "bdl" for r in records):
            continue
        if v in spec.bdl_lod:
            bdl_lods[v] = spec.bdl_lod[v]
        elif v in FIXED_BDL_LOD and not spec.user:
            bdl_lods[v] = FIXED_BDL_LOD[v]
        else:
            det = [
                r["parsed"][v].value for r in records if r["parsed"][v].status == "value" and r["parsed"][v].value > 0
            ]
            if det:
                bdl_lods[v] = min(det)

    # ---- bad coordinates -> station median (before inheritance, so inheritors get the fix)
    for r in records:
        if r["kind"] != "station":
            continue
        mlat, mlon = station_pos[r["site"]]
        if r["lat"] is not None and r["lon"] is not None:
            others = [
                s
                for s, (la, lo) in station_pos.items()
                if s != r["site"] and math.hypot(r["lat"] - la, r["lon"] - lo) <= IDENTIFY_DEG
            ]
            if others and math.hypot(r["lat"] - mlat, r["lon"] - mlon) > REPAIR_DEG:
                # e.g. 2019-08-28: positions shifted by one row; the label may be the error.
                r["flags"].append("position_near_other_station")
        for fld, med in (("lat", mlat), ("lon", mlon)):
            if r[fld] is not None and abs(r[fld] - med) > REPAIR_DEG:
                repairs.append(
                    {
                        "file": file_name,
                        "row": r["row"],
                        "column": cols[fld],
                        "old": r[fld],
                        "new": med,
                        "reason": f"{fld} more than {REPAIR_DEG}° from {r['site']}'s median position",
                    }
                )
                r[fld] = med
                r["flags"].append(f"{fld}_repaired")

    # ---- inheritance from the surface row of the same site and date
    surface = {(r["site"], r["date"]): r for r in records if r["cat"] == "surface"}
    for r in records:
        if r["cat"] == "surface":
            continue
        s = surface.get((r["site"], r["date"]))
        if s is None:
            continue
        took = False
        for fld in ("time", "lat", "lon", "station_depth_m"):
            if r[fld] is None and s[fld] is not None:
                r[fld] = s[fld]
                took = True
        if took:
            r["flags"].append("inherited_from_surface")

    kept: list[dict[str, Any]] = []
    censored: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    for r in records:
        if r["lat"] is None or r["lon"] is None:
            if r["kind"] == "station":
                r["lat"], r["lon"] = station_pos[r["site"]]
                r["flags"].append("position_from_station_median")
            else:
                reject(
                    r["row"],
                    cols["lat"],
                    "",
                    f"{r['kind']} sample '{r['site']}' has no position and no "
                    "surface row of the same site and date to take it from",
                )
                continue
        if r["time"] is None:
            r["flags"].append("time_missing")
        if r["cat"] == "scum" and r["sample_depth_m"] is None:
            r["sample_depth_m"] = 0.0
            r["flags"].append("sample_depth_filled")
        if r["cat"] == "surface" and r["sample_depth_m"] == 0.0:
            r["flags"].append("surface_depth_zero")
        out: dict[str, Any] = {
            "station": r["site"],
            "station_kind": r["kind"],
            "local_date": r["date"],
            "local_time": r["time"],
            "lat": r["lat"],
            "lon": r["lon"],
            "depth_category": r["cat"],
            "sample_depth_m": r["sample_depth_m"],
            "station_depth_m": r["station_depth_m"],
        }
        for v in VARIABLES:
            val, cens, lod = math.nan, False, math.nan
            p = r["parsed"].get(v)
            conv = spec.convert.get(v)
            if p is not None:
                if p.status == "missing":
                    missing[v][p.token] += 1
                if p.status == "value":
                    val = p.value
                    if not math.isnan(p.uncertainty):
                        r["flags"].append(f"{v.split('_')[0]}_reported_pm_{p.uncertainty:g}")
                        repairs.append(
                            {
                                "file": file_name,
                                "row": r["row"],
                                "column": cols[v],
                                "old": f"{p.value:g} ± {p.uncertainty:g}",
                                "new": p.value,
                                "reason": "value reported with its analytical uncertainty; "
                                "the reported value is kept, the ± part is in flags",
                            }
                        )
                elif p.status == "censored":
                    val, cens, lod = p.lod, True, p.lod
                elif p.status == "bdl":
                    if v in bdl_lods:
                        val, cens, lod = bdl_lods[v], True, bdl_lods[v]
                        if p.token == "nondetect":
                            nondetect_n[v] += 1
                    else:
                        word = "a non-detect" if p.token == "nondetect" else "'bdl'"
                        reject(
                            r["row"],
                            cols[v],
                            "bdl",
                            f"{word} but no detection limit is known for {v} in this "
                            "file (no detected value to bound it); set bdl_lod (or "
                            "nondetect.lod) in the column map",
                            "cell",
                        )
                if conv is not None and not math.isnan(val):
                    val = conv(val)
                    lod = conv(lod) if cens else lod
            if v == "water_temp_c" and math.isnan(val) and r["sample_temp"] is not None:
                st = r["sample_temp"]
                if st.status == "value":
                    val = st.value
                    r["flags"].append("water_temp_from_sample")
            if cens:
                censored[v] += 1
            elif not math.isnan(val):
                detected[v] += 1
            out[v] = val
            out[f"{v}_censored"] = cens
            out[f"{v}_lod"] = lod
        if r["cat"] != "scum" and any(
            not out[f"{v}_censored"] and out[v] > lim for v, lim in SCUM_LIKE.items() if not math.isnan(out[v])
        ):
            r["flags"].append("scum_like_value")
        out["flags"] = ";".join(r["flags"])
        out["source_row"] = r["row"]
        kept.append(out)

    df = pd.DataFrame(kept)
    if len(df):
        df["time_utc"] = [_to_utc(d, t, tz) for d, t in zip(df["local_date"], df["local_time"], strict=True)]
        df["date"] = [d.isoformat() for d in df["local_date"]]
        df = df.drop(columns=["local_date", "local_time"])
    flag_counts: Counter[str] = Counter()
    for f in df.get("flags", pd.Series(dtype=str)):
        for x in filter(None, f.split(";")):
            flag_counts[re.sub(r"_pm_.*", "_pm", x)] += 1
    rejected.sort(key=lambda r: (r["row"], r["scope"] != "row"))
    return FileOutcome(
        rows=df,
        rejected=rejected,
        repairs=repairs,
        rows_read=len(raw),
        missing={v: dict(c) for v, c in missing.items()},
        censored=dict(censored),
        detected=dict(detected),
        bdl_lods=bdl_lods,
        flags=dict(flag_counts),
        not_carried_values=dict(not_carried),
        nondetect=dict(nondetect_n),
    )


def _to_utc(d: date, t: time | None, tz: ZoneInfo) -> pd.Timestamp:
    """Local wall-clock time -> UTC. Ambiguous times (the repeated autumn hour) are read as
    the first (daylight) occurrence, ``fold=0``; times missing -> NaT."""
    if t is None:
        return pd.NaT
    local = datetime.combine(d, t).replace(tzinfo=tz, fold=0)
    return pd.Timestamp(local).tz_convert("UTC")


def empty_rows() -> pd.DataFrame:
    cols = [
        "station",
        "station_kind",
        "lat",
        "lon",
        "depth_category",
        "sample_depth_m",
        "station_depth_m",
    ]
    for v in VARIABLES:
        cols += [v, f"{v}_censored", f"{v}_lod"]
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "flags", "source_row", "date"]})
    df["time_utc"] = pd.Series(dtype="datetime64[ns, UTC]")
    return df


__all__ = ["IDENTIFY_DEG", "REPAIR_DEG", "SCUM_LIKE", "FileOutcome", "SourceSpec", "normalize"]
