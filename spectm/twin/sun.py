"""Solar position (NOAA low-precision formulas): solar zenith/azimuth for the files' metadata.

Accurate to ~0.1°, far better than the twin needs (``csol_z`` in PACE scan lines,
``view:sun_elevation``/``view:sun_azimuth`` in S2 items, the glint geometry).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np


def solar_position(lat: np.ndarray | float, lon: np.ndarray | float, when: datetime) -> tuple[np.ndarray, np.ndarray]:
    """(zenith°, azimuth° clockwise from north) at ``when`` (UTC, naive or aware)."""
    doy = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * np.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g) - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    lat_r = np.radians(np.asarray(lat, float))
    tst = hour * 60 + eqtime + 4 * np.asarray(lon, float)
    ha = np.radians(tst / 4 - 180)
    cosz = np.sin(lat_r) * np.sin(decl) + np.cos(lat_r) * np.cos(decl) * np.cos(ha)
    zen = np.arccos(np.clip(cosz, -1, 1))
    az = np.degrees(np.arctan2(np.sin(ha), np.cos(ha) * np.sin(lat_r) - np.tan(decl) * np.cos(lat_r))) + 180
    return np.degrees(zen), np.mod(az, 360)
