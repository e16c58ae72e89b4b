"""Which twin products show a sensor before it flew, and the sentence that says so.

The twin can simulate any season the in-situ record covers, including years before the
satellites existed: PACE launched on 8 February 2024 (NASA PACE mission page,
https://pace.oceansciences.gsfc.nasa.gov), Sentinel-2A on 23 June 2015 and Sentinel-2B on
7 March 2017 (ESA Sentinel-2 mission overview). Such products are simulated *as if the
sensor had flown*; every one carries the sentence below so nobody mistakes it for imagery
that exists (granule and COG attributes, STAC item property ``spectm:as_if_flown``, cube
attribute ``spectm_as_if_flown``).
"""

from __future__ import annotations

from datetime import date

LAUNCH = {
    "pace": date(2024, 2, 8),
    "sentinel-2a": date(2015, 6, 23),
    "sentinel-2b": date(2017, 3, 7),
}
_NAMES = {"pace": "PACE OCI", "sentinel-2a": "Sentinel-2A", "sentinel-2b": "Sentinel-2B"}


def as_if_flown(platform: str, day: date) -> str | None:
    """The note for a product of ``platform`` dated ``day``, or None when the sensor was flying."""
    launch = LAUNCH[platform]
    if day >= launch:
        return None
    name = _NAMES[platform]
    return (
        f"simulated as if {name} had flown: {name} launched on {launch.isoformat()}, so no real "
        f"{name} data exist for {day.isoformat()}; this product is a spectm twin simulation"
    )
