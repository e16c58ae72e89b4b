"""Station drivers: the measured water the twin's constituent fields must honour.

The twin's lake is driven by the surface samples at fixed stations (GLERL
``station_kind == "station"``, or a user's own CSV, ``"user"``; ``depth_category ==
"surface"``) of the simulated
season: chlorophyll-a, phycocyanin, a_CDOM(400) and TSS at each visit's own
position. A season with no such samples (or fewer than two sampling days) falls
back to *climatology*: weekly visits to the catalogued stations with values drawn as
docs/bio-optics.md § Lake Erie draws describes, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from spectm.dates import DateRange

VARS = ("chl", "pc", "ag400", "tss")
_COLUMNS = {"chl": "chla_ugL", "pc": "pc_ugL", "ag400": "cdom_a400_m1", "tss": "tss_mgL"}
# Physical floors/ceilings (docs/bio-optics.md § Lake Erie draws): the log-space interpolation needs > 0.
LIMITS = {"chl": (0.5, 500.0), "pc": (0.02, 500.0), "ag400": (0.05, 8.0), "tss": (0.5, 150.0)}
MAUMEE_MOUTH = (-83.46, 41.69)  # lon, lat of the Maumee River mouth (Toledo)
STATION_KINDS = ("station", "user")  # fixed sites; GLERL transects, scum and ad-hoc rows do not drive
DRIVER_MARGIN_DAYS = 21  # samples this far before a season start it (the fields are causal: later ones never count)


@dataclass
class Drivers:
    """One row per station visit (date, station, lon, lat, chl, pc, ag400, tss; NaN = not measured)."""

    table: pd.DataFrame
    source: str  # "samples" or "climatology"
    n_samples_used: int
    note: str = ""

    @property
    def dates(self) -> list[date]:
        return sorted(set(self.table["date"]))


def _surface_stations(samples: pd.DataFrame, bbox: tuple[float, float, float, float] | None) -> pd.DataFrame:
    df = samples
    if "station_kind" in df.columns:  # GLERL stations, or the sites of a user's own CSV
        df = df[df["station_kind"].isin(STATION_KINDS)]
    if "depth_category" in df.columns:
        df = df[df["depth_category"] == "surface"]
    if bbox is not None:  # only the samples inside the simulated region drive it
        w, s, e, n = bbox
        lon, lat = pd.to_numeric(df["lon"], errors="coerce"), pd.to_numeric(df["lat"], errors="coerce")
        df = df[lon.between(w, e) & lat.between(s, n)]
    return df


def levels_before(
    samples: pd.DataFrame | None, before: date, bbox: tuple[float, float, float, float] | None = None
) -> dict[str, float]:
    """Median value per constituent of the region's surface station samples taken before
    ``before`` (a lake's own prior level; only the past, so the twin stays causal)."""
    need = {"station", "date", "lat", "lon"}
    if samples is None or len(samples) == 0 or not need.issubset(samples.columns):
        return {}
    df = _surface_stations(samples, bbox)
    df = df[pd.to_datetime(df["date"]).dt.date < before]
    out = {}
    for v, col in _COLUMNS.items():
        if col in df.columns:
            vals = pd.to_numeric(df[col], errors="coerce")
            vals = vals[vals > 0]
            if len(vals):
                out[v] = float(np.clip(10 ** np.log10(vals).median(), *LIMITS[v]))
    return out


def drivers_from_samples(
    samples: pd.DataFrame,
    dates: DateRange,
    margin_days: int = DRIVER_MARGIN_DAYS,
    bbox: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame:
    """Surface station samples of the season and up to ``margin_days`` before it (they set the
    lake's state when the season starts); none after its end."""
    need = {"station", "date", "lat", "lon"}
    if samples is None or len(samples) == 0 or not need.issubset(samples.columns):
        return pd.DataFrame(columns=["date", "station", "lon", "lat", *VARS])
    df = _surface_stations(samples, bbox)
    d = pd.to_datetime(df["date"]).dt.date
    lo, hi = dates.start - timedelta(days=margin_days), dates.end
    df = df[(d >= lo) & (d <= hi)].copy()
    df["date"] = pd.to_datetime(df["date"]).dt.date
    out = pd.DataFrame({"date": df["date"], "station": df["station"].astype(str), "lon": df["lon"], "lat": df["lat"]})
    for v, col in _COLUMNS.items():
        vals = pd.to_numeric(df[col], errors="coerce") if col in df.columns else np.nan
        out[v] = vals
    for v, (lo_v, hi_v) in LIMITS.items():
        out[v] = out[v].where(out[v] > 0).clip(lo_v, hi_v)
    out = out.dropna(subset=["lon", "lat"])
    # Duplicate visits (same station, same day): geometric mean, one position.
    agg = {v: (lambda s: float(np.exp(np.log(s.dropna()).mean())) if s.notna().any() else np.nan) for v in VARS}
    agg.update({"lon": "mean", "lat": "mean"})
    out = out.groupby(["date", "station"], as_index=False).agg(agg)
    return out.sort_values(["date", "station"]).reset_index(drop=True)


def season_weight(doy: np.ndarray | float) -> np.ndarray:
    """0…1 bloom-season shape peaking in mid-August (docs/glerl.md: PMC and Chl peak in August)."""
    return np.exp(-(((np.asarray(doy, float) - 225.0) / 35.0) ** 2))


def climatology_drivers(stations: pd.DataFrame, dates: DateRange, rng: np.random.Generator) -> pd.DataFrame:
    """Weekly visits to ``stations`` with values drawn as docs/bio-optics.md § Lake Erie draws says.

    Chl is log-normal (median 17 µg/L, log10 SD 0.45, clipped 1–500) with the median
    raised toward the August peak and in the south-west (near the Maumee mouth); PC
    comes from a PC:Chl ratio log-uniform in 0.03–1 (0.2–1 in July–September);
    a_g(400) median 0.9 m⁻¹ (0.2–5); TSS median 10 mg/L (2–50), doubled at WE6/WE9.
    """
    rows = []
    day = dates.start
    while day <= dates.end:
        s = float(season_weight(day.timetuple().tm_yday))
        for st in stations.itertuples():
            dist = np.hypot((st.lon - MAUMEE_MOUTH[0]) * 83.0, (st.lat - MAUMEE_MOUTH[1]) * 111.0)
            sw = float(np.clip(1 - dist / 40.0, 0, 1))
            log_med = np.log10(17.0) + 0.45 * (s - 0.5) + 0.25 * (sw - 0.5)
            chl = float(np.clip(10 ** rng.normal(log_med, 0.35), 1.0, 500.0))
            lo = 0.2 if 7 <= day.month <= 9 else 0.03
            pc = chl * 10 ** rng.uniform(np.log10(lo), 0.0)
            ag = float(np.clip(10 ** rng.normal(np.log10(0.9) + 0.3 * sw, 0.3), 0.2, 5.0))
            tss = float(np.clip(10 ** rng.normal(np.log10(10.0), 0.3), 2.0, 50.0))
            if str(st.station) in ("WE6", "WE9"):
                tss = min(2 * tss, 50.0)
            rows.append((day, str(st.station), float(st.lon), float(st.lat), chl, pc, ag, tss))
        day += timedelta(days=7)
    return pd.DataFrame(rows, columns=["date", "station", "lon", "lat", *VARS])


def build_drivers(
    samples: pd.DataFrame | None,
    dates: DateRange,
    stations: pd.DataFrame,
    rng: np.random.Generator,
    bbox: tuple[float, float, float, float] | None = None,
) -> Drivers:
    """Samples of the season (and the weeks before it) when any has Chl, else climatology.

    One sampling day is enough: the fields evolve forward from the last analysis, so a
    season needs a first measurement, not a pair to interpolate between.
    """
    table = drivers_from_samples(samples, dates, bbox=bbox) if samples is not None else None
    if table is not None and table.dropna(subset=["chl"])["date"].nunique() >= 1:
        return Drivers(table, "samples", len(table))
    why = (
        "no samples table given"
        if samples is None
        else "no sampling day with chlorophyll in the season" + (" inside the region" if bbox else "")
    )
    clim = climatology_drivers(stations, dates, rng)
    return Drivers(clim, "climatology", 0, note=f"constituents from climatology for {dates} (docs/twin.md): {why}")
