"""Quick-look PNGs so a person can see the twin is sane: true colour and a bloom-index map.

True colour is the PACE granule's Rrs at 665/555/443 nm (nearest bands), stretched
to 0–0.03 sr⁻¹, with filled pixels (land, cloud) grey; the bloom map is NDCI
(``(R708 − R665)/(R708 + R665)``, :mod:`spectm.indices`) from the same granule.
Both are drawn on the swath's own lon/lat with matplotlib (Agg backend).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import xarray as xr

from spectm import indices
from spectm.errors import DataNotFoundError


def find_granule(data_dir: Path, day: date) -> Path:
    hits = sorted((Path(data_dir) / "raw" / "pace").glob(f"PACE_OCI.{day.strftime('%Y%m%d')}T*.L2.OC_AOP.V3_1.nc"))
    if not hits:
        raise DataNotFoundError(
            f"no PACE granule for {day} in {data_dir}/raw/pace",
            "run 'spectm twin generate' for a range that includes this date",
        )
    return hits[0]


def quicklook(data_dir: Path, day: date, out_dir: Path | None = None) -> list[Path]:
    """Write ``<out>/twin_<date>_truecolor.png`` and ``twin_<date>_ndci.png``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = find_granule(data_dir, day)
    nav = xr.open_dataset(path, group="navigation_data")
    geo = xr.open_dataset(path, group="geophysical_data")
    wl = xr.open_dataset(path, group="sensor_band_parameters")["wavelength_3d"].values.astype(float)
    rrs = geo["Rrs"].values
    out = Path(out_dir) if out_dir else Path(data_dir) / "quicklooks"
    out.mkdir(parents=True, exist_ok=True)
    lon, lat = nav["longitude"].values, nav["latitude"].values
    rgb = np.stack([rrs[..., indices.nearest_band(wl, w)] for w in (665, 555, 443)], axis=-1)
    rgb = np.clip(rgb / 0.03, 0, 1) ** 0.6
    filled = np.isnan(rgb).any(-1)
    flags = geo["l2_flags"].values.astype(np.int64)
    rgb[filled] = 0.6  # other filled pixels: grey
    rgb[filled & (flags & 2 != 0)] = (0.55, 0.45, 0.3)  # LAND (bit 1): brown
    rgb[filled & (flags & 512 != 0)] = 1.0  # CLDICE (bit 9): white
    paths = []
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.pcolormesh(lon, lat, rgb, shading="nearest")
    ax.set_title(f"{path.name}\ntrue colour (Rrs 665/555/443); land brown, cloud white")
    ax.set_xlabel("lon"), ax.set_ylabel("lat")
    p = out / f"twin_{day.isoformat()}_truecolor.png"
    fig.savefig(p, dpi=100, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    fig, ax = plt.subplots(figsize=(6, 6))
    m = ax.pcolormesh(lon, lat, indices.ndci(rrs, wl), vmin=-0.3, vmax=0.3, cmap="RdYlGn_r", shading="nearest")
    fig.colorbar(m, ax=ax, label="NDCI")
    ax.set_title(f"{path.name}\nNDCI bloom index")
    p = out / f"twin_{day.isoformat()}_ndci.png"
    fig.savefig(p, dpi=100, bbox_inches="tight")
    plt.close(fig)
    paths.append(p)
    return paths
