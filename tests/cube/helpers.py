"""Build tiny local STAC catalogs (docs/data-layout.md) from the fixtures in tests/data/cube."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pystac
import xarray as xr

DATA = Path(__file__).resolve().parents[1] / "data" / "cube"
PACE_DIR = DATA / "pace"
BBOX = "-83.45,41.55,-83.1,41.85"  # part of western Lake Erie near Toledo (grid 31 × 36 at 1 km)

V31 = "PACE_OCI.20240715T180512.L2.OC_AOP.V3_1.nc"
V32 = "PACE_OCI.20240715T180512.L2.OC_AOP.V3_2.nc"
JUL16A = "PACE_OCI.20240716T184011.L2.OC_AOP.V3_1.nc"
JUL16B = "PACE_OCI.20240716T185011.L2.OC_AOP.V3_1.nc"
JUL18 = "PACE_OCI.20240718T175000.L2.OC_AOP.V3_1.nc"
SEASON = [V31, JUL16A, JUL16B, JUL18]


def _root(data_dir: Path) -> pystac.Catalog:
    cat_dir = data_dir / "raw" / "catalog"
    if (cat_dir / "catalog.json").exists():
        return pystac.Catalog.from_file(str(cat_dir / "catalog.json"))
    cat = pystac.Catalog(id="spectm-raw", description="test catalog")
    cat.normalize_hrefs(str(cat_dir))
    return cat


def add_pace(data_dir: Path, names: list[str]) -> None:
    """Copy granules to raw/pace and write one STAC item per granule."""
    raw = data_dir / "raw" / "pace"
    raw.mkdir(parents=True, exist_ok=True)
    cat_dir = data_dir / "raw" / "catalog"
    for name in names:
        shutil.copy(PACE_DIR / name, raw / name)
        with xr.open_dataset(raw / name, group="navigation_data") as nav:
            lon, lat = nav.longitude.values, nav.latitude.values
        with xr.open_dataset(raw / name) as root:
            t0 = datetime.fromisoformat(root.attrs["time_coverage_start"].rstrip("Z"))
            t1 = datetime.fromisoformat(root.attrs["time_coverage_end"].rstrip("Z"))
            version = root.attrs["processing_version"]
        bbox = [float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat))]
        w, s, e, n = bbox
        item_id = name[:-3]
        item = pystac.Item(
            id=item_id,
            geometry={"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
            bbox=bbox,
            datetime=t0,
            properties={
                "start_datetime": t0.isoformat() + "Z",
                "end_datetime": t1.isoformat() + "Z",
                "processing:level": "L2",
                "pace:short_name": "PACE_OCI_L2_AOP",
                "pace:version": version,
                "pace:product": "L2_AOP",
                "spectm:source": "pace_oci_l2_aop",
            },
            collection="PACE_OCI_L2_AOP",
        )
        item.add_asset(
            "data", pystac.Asset(href=f"../../../pace/{name}", media_type="application/x-netcdf", roles=["data"])
        )
        d = cat_dir / "PACE_OCI_L2_AOP" / item_id
        d.mkdir(parents=True, exist_ok=True)
        item.set_self_href(str(d / f"{item_id}.json"))
        pystac.write_file(item, include_self_link=False, dest_href=str(d / f"{item_id}.json"))
    if not (cat_dir / "catalog.json").exists():
        cat_dir.mkdir(parents=True, exist_ok=True)
        (cat_dir / "catalog.json").write_text(
            '{"type": "Catalog", "id": "spectm-raw", "stac_version": "1.1.0", "description": "test", "links": []}'
        )


S2_DIR = DATA / "s2"
S2_BBOX = "-83.300,41.706,-83.285,41.719"  # inside the 2 km synthetic S2 tile piece


def add_s2(data_dir: Path, ids: list[str] | None = None) -> list[str]:
    """Copy the synthetic S2 COGs to raw/s2 and write their items (all, or ``ids``)."""
    import json

    feats = json.loads((S2_DIR / "items.json").read_text())["features"]
    out = []
    for f in feats:
        if ids is not None and f["id"] not in ids:
            continue
        shutil.copytree(S2_DIR / f["id"], data_dir / "raw" / "s2" / f["id"], dirs_exist_ok=True)
        d = data_dir / "raw" / "catalog" / f["collection"] / f["id"]
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{f['id']}.json").write_text(json.dumps(f))
        out.append(f["id"])
    cat = data_dir / "raw" / "catalog" / "catalog.json"
    if not cat.exists():
        cat.write_text(
            '{"type": "Catalog", "id": "spectm-raw", "stac_version": "1.1.0", "description": "test", "links": []}'
        )
    return out
