"""Turn one parsed CSV (all cells as text) into tidy sample rows, a rejected list and counts.

This is where the samples contract is applied, one function per step, in this order (steps
1–3 read one row at a time, :mod:`spectm.samples.read_row`; steps 4–6 need the whole file):

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
from collections import Counter
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from spectm.samples.lod import FIXED_BDL_LOD
from spectm.samples.read_row import IDENTIFY_DEG, read_row
from spectm.samples.sample_row import DEPTH_WORDS, FileOutcome, Ledger, SampleRow, SourceSpec
from spectm.samples.samples_table import COLUMNS
from spectm.samples.schemas import VARIABLES
from spectm.samples.tokens import Parsed

# A visit farther than this from its station's median position has a bad coordinate.
REPAIR_DEG = 0.05
# Non-scum rows above these are scum-like (kept, flagged): ~10x the 95th percentile of
# surface station samples 2012–2024 (docs/glerl.md: Chl p95 96.5, PC p95 80.3, PMC p95 8.0).
SCUM_LIKE: dict[str, float] = {"chla_ugL": 1000.0, "pc_ugL": 1000.0, "pmc_ugL": 100.0}

_INHERITED = ("time", "lat", "lon", "station_depth_m")


def normalize(
    raw: pd.DataFrame,
    spec: SourceSpec,
    file_name: str,
    stations: pd.DataFrame | None,
) -> FileOutcome:
    """Apply the samples contract to one file's text cells (see the module docstring)."""
    station_pos: dict[str, tuple[float, float]] = {}
    if stations is not None and not spec.user:
        for s in stations.itertuples(index=False):
            station_pos[str(s.station).upper()] = (float(s.lat), float(s.lon))
    variables = [v for v in VARIABLES if v in spec.columns and v not in spec.unit_unknown]
    ledger = Ledger(file_name, spec.columns)
    ledger.not_carried.update({v: 0 for v in spec.unit_unknown if v in spec.columns})
    records = [
        r
        for i, rec in enumerate(raw.to_dict("records"))
        if (r := read_row(i + 1, rec, spec, variables, station_pos, ledger)) is not None
    ]
    bdl_lods = detection_limits(records, variables, spec)
    repair_coordinates(records, station_pos, ledger)
    inherit_from_surface(records)
    placed = place_or_reject(records, station_pos, ledger)
    df = _frame([tidy_row(r, spec, bdl_lods, ledger) for r in placed], ZoneInfo(spec.timezone))
    ledger.rejected.sort(key=lambda r: (r["row"], r["scope"] != "row"))
    return FileOutcome(
        rows=df,
        rejected=ledger.rejected,
        repairs=ledger.repairs,
        rows_read=len(raw),
        missing={v: dict(c) for v, c in ledger.missing.items()},
        censored=dict(ledger.censored),
        detected=dict(ledger.detected),
        bdl_lods=bdl_lods,
        flags=_flag_counts(df),
        not_carried_values=dict(ledger.not_carried),
        nondetect=dict(ledger.nondetect),
    )


def detection_limits(records: list[SampleRow], variables: list[str], spec: SourceSpec) -> dict[str, float]:
    """The LOD a ``bdl`` cell stands for, per variable that has one: the column map's, the
    fixed ELISA limit for microcystin, else the file's smallest detected value."""
    bdl_lods: dict[str, float] = {}
    for v in variables:
        if not any(r.parsed[v].status == "bdl" for r in records):
            continue
        if v in spec.bdl_lod:
            bdl_lods[v] = spec.bdl_lod[v]
        elif v in FIXED_BDL_LOD and not spec.user:
            bdl_lods[v] = FIXED_BDL_LOD[v]
        else:
            det = [r.parsed[v].value for r in records if r.parsed[v].status == "value" and r.parsed[v].value > 0]
            if det:
                bdl_lods[v] = min(det)
    return bdl_lods


def repair_coordinates(records: list[SampleRow], station_pos: dict[str, tuple[float, float]], ledger: Ledger) -> None:
    """Step 4: a station visit's coordinate more than :data:`REPAIR_DEG` from the station's
    median becomes the median (before inheritance, so inheritors get the fix)."""
    for r in records:
        if r.kind != "station":
            continue
        mlat, mlon = station_pos[r.site]
        if r.lat is not None and r.lon is not None:
            others = [
                s
                for s, (la, lo) in station_pos.items()
                if s != r.site and math.hypot(r.lat - la, r.lon - lo) <= IDENTIFY_DEG
            ]
            if others and math.hypot(r.lat - mlat, r.lon - mlon) > REPAIR_DEG:
                # e.g. 2019-08-28: positions shifted by one row; the label may be the error.
                r.flags.append("position_near_other_station")
        if r.lat is not None and abs(r.lat - mlat) > REPAIR_DEG:
            ledger.repair(r.row, "lat", r.lat, mlat, f"lat more than {REPAIR_DEG}° from {r.site}'s median position")
            r.lat = mlat
            r.flags.append("lat_repaired")
        if r.lon is not None and abs(r.lon - mlon) > REPAIR_DEG:
            ledger.repair(r.row, "lon", r.lon, mlon, f"lon more than {REPAIR_DEG}° from {r.site}'s median position")
            r.lon = mlon
            r.flags.append("lon_repaired")


def inherit_from_surface(records: list[SampleRow]) -> None:
    """Step 5: a non-surface row's missing time, position and station depth come from the
    surface row of the same site and date."""
    surface = {(r.site, r.date): r for r in records if r.cat == "surface"}
    for r in records:
        s = surface.get((r.site, r.date)) if r.cat != "surface" else None
        if s is None:
            continue
        took = False
        for fld in _INHERITED:
            if getattr(r, fld) is None and getattr(s, fld) is not None:
                setattr(r, fld, getattr(s, fld))
                took = True
        if took:
            r.flags.append("inherited_from_surface")


def place_or_reject(
    records: list[SampleRow], station_pos: dict[str, tuple[float, float]], ledger: Ledger
) -> list[SampleRow]:
    """Step 5, last part: a station row still without a position gets the station median;
    any other row without one is rejected. Returns the rows kept."""
    kept = []
    for r in records:
        if r.lat is None or r.lon is None:
            if r.kind != "station":
                ledger.reject(
                    r.row,
                    ledger.columns["lat"],
                    "",
                    f"{r.kind} sample '{r.site}' has no position and no "
                    "surface row of the same site and date to take it from",
                )
                continue
            r.lat, r.lon = station_pos[r.site]
            r.flags.append("position_from_station_median")
        kept.append(r)
    return kept


def tidy_row(r: SampleRow, spec: SourceSpec, bdl_lods: dict[str, float], ledger: Ledger) -> dict[str, Any]:
    """Step 6: the quality flags and the row as the samples table stores it (value,
    ``_censored`` and ``_lod`` per variable; missing, censored and detected counted)."""
    if r.time is None:
        r.flags.append("time_missing")
    if r.cat == "scum" and r.sample_depth_m is None:
        r.sample_depth_m = 0.0
        r.flags.append("sample_depth_filled")
    if r.cat == "surface" and r.sample_depth_m == 0.0:
        r.flags.append("surface_depth_zero")
    out: dict[str, Any] = {
        "station": r.site,
        "station_kind": r.kind,
        "local_date": r.date,
        "local_time": r.time,
        "lat": r.lat,
        "lon": r.lon,
        "depth_category": r.cat,
        "sample_depth_m": r.sample_depth_m,
        "station_depth_m": r.station_depth_m,
    }
    for v in VARIABLES:
        val, cens, lod = _variable(v, r, spec, bdl_lods, ledger)
        if cens:
            ledger.censored[v] += 1
        elif not math.isnan(val):
            ledger.detected[v] += 1
        out[v] = val
        out[f"{v}_censored"] = cens
        out[f"{v}_lod"] = lod
    if r.cat != "scum" and any(
        not out[f"{v}_censored"] and out[v] > lim for v, lim in SCUM_LIKE.items() if not math.isnan(out[v])
    ):
        r.flags.append("scum_like_value")
    out["flags"] = ";".join(r.flags)
    out["source_row"] = r.row
    return out


def _variable(
    v: str, r: SampleRow, spec: SourceSpec, bdl_lods: dict[str, float], ledger: Ledger
) -> tuple[float, bool, float]:
    """(value, censored, LOD) of one variable in spectm's units; 2012's blank CTD water
    temperature falls back to the sample thermometer."""
    val, cens, lod = math.nan, False, math.nan
    p = r.parsed.get(v)
    if p is not None:
        val, cens, lod = _cell_value(v, p, r, bdl_lods, ledger)
        conv = spec.convert.get(v)
        if conv is not None and not math.isnan(val):
            val = conv(val)
            lod = conv(lod) if cens else lod
    st = r.sample_temp
    if v == "water_temp_c" and math.isnan(val) and st is not None and st.status == "value":
        val = st.value
        r.flags.append("water_temp_from_sample")
    return val, cens, lod


def _cell_value(
    v: str, p: Parsed, r: SampleRow, bdl_lods: dict[str, float], ledger: Ledger
) -> tuple[float, bool, float]:
    """(value, censored, LOD) of one parsed cell in the file's units."""
    if p.status == "missing":
        ledger.missing[v][p.token] += 1
    elif p.status == "value":
        if not math.isnan(p.uncertainty):
            r.flags.append(f"{v.split('_')[0]}_reported_pm_{p.uncertainty:g}")
            ledger.repair(
                r.row,
                v,
                f"{p.value:g} ± {p.uncertainty:g}",
                p.value,
                "value reported with its analytical uncertainty; the reported value is kept, the ± part is in flags",
            )
        return p.value, False, math.nan
    elif p.status == "censored":
        return p.lod, True, p.lod
    elif p.status == "bdl":
        if v in bdl_lods:
            if p.token == "nondetect":
                ledger.nondetect[v] += 1
            return bdl_lods[v], True, bdl_lods[v]
        word = "a non-detect" if p.token == "nondetect" else "'bdl'"
        ledger.reject(
            r.row,
            ledger.columns[v],
            "bdl",
            f"{word} but no detection limit is known for {v} in this "
            "file (no detected value to bound it); set bdl_lod (or "
            "nondetect.lod) in the column map",
            "cell",
        )
    return math.nan, False, math.nan


def _frame(kept: list[dict[str, Any]], tz: ZoneInfo) -> pd.DataFrame:
    df = pd.DataFrame(kept)
    if len(df):
        df["time_utc"] = [_to_utc(d, t, tz) for d, t in zip(df["local_date"], df["local_time"], strict=True)]
        df["date"] = [d.isoformat() for d in df["local_date"]]
        df = df.drop(columns=["local_date", "local_time"])
    return df


def _flag_counts(df: pd.DataFrame) -> dict[str, int]:
    """Rows per flag (``<var>_reported_pm_<u>`` counted as ``<var>_reported_pm``)."""
    flag_counts: Counter[str] = Counter()
    for f in df.get("flags", pd.Series(dtype=str)):
        for x in filter(None, f.split(";")):
            flag_counts[re.sub(r"_pm_.*", "_pm", x)] += 1
    return dict(flag_counts)


def _to_utc(d: date, t: time | None, tz: ZoneInfo) -> pd.Timestamp:
    """Local wall-clock time -> UTC. Ambiguous times (the repeated autumn hour) are read as
    the first (daylight) occurrence, ``fold=0``; times missing -> NaT."""
    if t is None:
        return pd.NaT
    local = datetime.combine(d, t).replace(tzinfo=tz, fold=0)
    return pd.Timestamp(local).tz_convert("UTC")


def empty_rows() -> pd.DataFrame:
    """No rows, with the columns :func:`normalize` gives: the stored ones less ``sample_id``
    and ``source_file`` (typed by :func:`~spectm.samples.samples_table.finish_table`)."""
    cols = [c for c in COLUMNS if c not in ("sample_id", "source_file")]
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    df["time_utc"] = pd.Series(dtype="datetime64[ns, UTC]")
    return df


__all__ = [
    "DEPTH_WORDS",
    "IDENTIFY_DEG",
    "REPAIR_DEG",
    "SCUM_LIKE",
    "FileOutcome",
    "SourceSpec",
    "normalize",
]
