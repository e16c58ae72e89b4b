"""PACE OCI overpass geometry: a curvilinear swath cut to the region, one pass a day.

A real L2 granule is 1709 lines × 1272 pixels spanning ~2600 km; the twin writes only
the part over the region plus a margin, like a subset of a real granule (this keeps a
season's files small; readers cut the lake out of a granule anyway). The grid:

* lines run along the ground track of an *ascending* daytime pass (PACE crosses the
  equator northbound at ~13:00 local), heading 348° (12° west of north, the track of
  a 98° inclination orbit at 42° N); pixels run across track, west to east;
* spacing ``resolution_m`` (default 1200 m, OCI's ~1.2 km at the region's typical view
  angle) along track; across track it grows as ``1/cos²(view zenith)`` so the grid is
  curvilinear like a real swath;
* the region's cross-track distance from nadir changes from day to day (drawn from
  the seed, uniform in ±1100 km); it sets the view zenith and the overpass time
  (17:40 UTC at nadir, shifted by the ground-track offset: ±~40 min), as neighbouring
  orbits 98.4 min apart would;
* positions are computed in an azimuthal-equidistant plane centred on the region and
  converted to lon/lat with pyproj.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pyproj import Transformer

ORBIT_HEIGHT_KM = 676.5
HEADING_DEG = -12.0
NADIR_TIME = (17, 40)  # UTC hour, minute when the region is at nadir
ORBIT_SHIFT_KM = 2750.0  # ground-track spacing of consecutive orbits at 42° N
ORBIT_MINUTES = 98.4
GROUND_SPEED_KM_S = 6.7


@dataclass
class Swath:
    """One day's swath subset over the region."""

    start: datetime
    lon: np.ndarray  # (lines, pixels) float32
    lat: np.ndarray
    view_zenith: np.ndarray  # (lines, pixels), signed: > 0 east of nadir
    line_time: np.ndarray  # seconds since 1970 per line
    cross_track_km: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.lon.shape

    @property
    def stamp(self) -> str:
        return self.start.strftime("%Y%m%dT%H%M%S")


def view_zenith_deg(cross_km: np.ndarray) -> np.ndarray:
    """Signed view zenith at the ground for a cross-track distance from nadir (spherical Earth)."""
    r = 6371.0
    gamma = np.asarray(cross_km) / r
    h = r + ORBIT_HEIGHT_KM
    scan = np.arctan2(r * np.sin(gamma), h - r * np.cos(gamma))
    return np.degrees(scan + gamma)


def make_swath(
    bbox: tuple[float, float, float, float], day: date, seed: int, resolution_m: float = 1200.0, margin_km: float = 8.0
) -> Swath:
    """The swath subset covering ``bbox`` (+ margin) on ``day`` (deterministic in ``seed``)."""
    rng = np.random.default_rng([seed, 303, day.toordinal()])
    cross = float(rng.uniform(-1100.0, 1100.0))
    w, s, e, n = bbox
    lon0, lat0 = (w + e) / 2, (s + n) / 2
    fwd = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m", always_xy=True)
    inv = Transformer.from_crs(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +units=m", "EPSG:4326", always_xy=True)
    cx, cy = fwd.transform([w, e, e, w], [s, s, n, n])
    h = np.radians(HEADING_DEG)
    along = np.array([np.sin(h), np.cos(h)])  # unit vector along track (x east, y north)
    across = np.array([np.cos(h), -np.sin(h)])  # perpendicular, pointing east
    pa = np.asarray(cx) * along[0] + np.asarray(cy) * along[1]
    pc = np.asarray(cx) * across[0] + np.asarray(cy) * across[1]
    m = margin_km * 1000
    a = np.arange(pa.min() - m, pa.max() + m + resolution_m, resolution_m)
    # cross-track: spacing grows with view zenith (pixel footprint ∝ 1/cos² at the ground)
    c_lo, c_hi = pc.min() - m, pc.max() + m
    cs = [c_lo]
    while cs[-1] < c_hi:
        vz = np.radians(view_zenith_deg(cross + cs[-1] / 1000))
        cs.append(cs[-1] + resolution_m / max(np.cos(vz) ** 2, 0.25))
    c = np.asarray(cs)
    aa, cc = np.meshgrid(a, c, indexing="ij")
    x = aa * along[0] + cc * across[0]
    y = aa * along[1] + cc * across[1]
    lon, lat = inv.transform(x, y)
    minutes = (cross / ORBIT_SHIFT_KM) * ORBIT_MINUTES
    t_center = datetime(day.year, day.month, day.day, *NADIR_TIME, tzinfo=UTC) + timedelta(minutes=minutes)
    line_dt = a / 1000 / GROUND_SPEED_KM_S
    start = (t_center + timedelta(seconds=float(line_dt[0]))).replace(microsecond=0)
    epoch = start.timestamp()
    line_time = epoch + (line_dt - line_dt[0])
    vz = view_zenith_deg(cross + cc / 1000)
    return Swath(start, lon.astype(np.float32), lat.astype(np.float32), vz.astype(np.float32), line_time, cross)
