"""Write the small SYNTHETIC Sentinel-2 L2A COGs + STAC items used by tests/cube.

Run from the repository root: ``.venv/bin/python tests/data/cube/make_s2_fixtures.py``.

Items are derived from the real Earth Search c1 item ``S2A_T13TDE_20240422T174753_L2A``
and the real Planetary Computer item ``S2B_MSIL2A_20240825T173909_R098_T13TDE_...``
(verbatim copies in ``tests/data/cube/s2/source_items/``, provenance in PROVENANCE.md):
id, datetime, geometry, bbox, ``proj:epsg`` (32617), per-asset ``proj:shape``/``proj:transform``
and hrefs are edited to a 2 km × 2 km piece of western Lake Erie in tile 17TLG, and
``spectm:synthetic`` is set. One item per catalogue rule of docs/sentinel2.md § Processing baseline 04.00 with the same
true reflectance, so every rule must recover the same values:

* ``c1``   PB 05.10, DN include +1000, raster:bands offset −0.1 (two overlapping items, same day)
* ``es``   Earth Search l2a PB 05.09, ``boa_offset_applied: true``, DN without +1000, raster:bands still −0.1
* ``pcnew`` Planetary Computer PB 05.11 (keys B02…, no raster:bands), DN include +1000
* ``pcold`` Planetary Computer PB 02.12, DN without offset
* ``amb``  Earth Search l2a PB 05.10, flag false, DN include +1000 (ambiguous → dark-water check)
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

HERE = Path(__file__).resolve().parent
OUT = HERE / "s2"
REF = OUT / "source_items"  # the committed verbatim copies; read before OUT is rewritten
X0, Y0, SIZE = 308400.0, 4620800.0, 2000.0  # UTM 17N, metres
RES = {
    "coastal": 60,
    "blue": 10,
    "green": 10,
    "red": 10,
    "rededge1": 20,
    "rededge2": 20,
    "rededge3": 20,
    "nir": 10,
    "nir08": 20,
    "swir16": 20,
    "swir22": 20,
    "scl": 20,
}
PC = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}
BASE = {
    "coastal": 0.030,
    "blue": 0.035,
    "green": 0.050,
    "red": 0.030,
    "rededge1": 0.025,
    "rededge2": 0.012,
    "rededge3": 0.010,
    "nir": 0.008,
    "nir08": 0.006,
    "swir16": 0.003,
    "swir22": 0.002,
}


def truth(band: str, res: int) -> np.ndarray:
    n = int(SIZE / res)
    yy, xx = np.mgrid[0:n, 0:n] * res + res / 2
    return BASE[band] * (1 + 0.3 * np.sin(xx / 700.0) * np.cos(yy / 900.0))


def scl_map() -> np.ndarray:
    n = int(SIZE / 20)
    s = np.full((n, n), 6, dtype=np.uint8)
    s[:20, :20] = 9  # cloud
    s[20:25, :30] = 3  # cloud shadow
    s[60:70, 60:70] = 8  # medium-probability cloud
    s[80:85, 10:20] = 7  # unclassified: kept
    s[90:, 90:] = 0  # no data corner
    return s


def write_tif(path: Path, arr: np.ndarray, res: int, dtype: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    prof = {
        "driver": "COG",
        "width": arr.shape[1],
        "height": arr.shape[0],
        "count": 1,
        "dtype": dtype,
        "crs": "EPSG:32617",
        "transform": from_origin(X0, Y0, res, res),
        "nodata": 0,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(arr.astype(dtype), 1)


def make(template: dict, kind: str, item_id: str, dt: str, pb: str, with_offset: bool, flag: bool | None) -> dict:
    it = copy.deepcopy(template)
    it["id"] = item_id
    lon0, lat0, lon1, lat1 = -83.3045, 41.7035, -83.2800, 41.7225
    it["bbox"] = [lon0, lat0, lon1, lat1]
    it["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }
    p = it["properties"]
    p["datetime"] = dt
    p["proj:epsg"] = 32617
    p["s2:processing_baseline"] = pb
    p["spectm:synthetic"] = True
    for k in [k for k in p if k.startswith("earthsearch:")]:
        del p[k]
    if kind in ("es", "amb"):
        it["collection"] = "sentinel-2-l2a"
        p["earthsearch:boa_offset_applied"] = bool(flag)
    if kind.startswith("pc"):
        p["s2:mgrs_tile"] = "17TLG"
    else:
        p["grid:code"] = "MGRS-17TLG"
    assets = {}
    for band, res in RES.items():
        key = PC[band] if kind.startswith("pc") else band
        a = copy.deepcopy(template["assets"][key])
        n = int(SIZE / res)
        a["href"] = f"../../../s2/{item_id}/{key}.tif"
        a["proj:shape"] = [n, n]
        a["proj:transform"] = [res, 0, X0, 0, -res, Y0]
        a.pop("proj:bbox", None)
        a.pop("file:checksum", None)
        if band == "scl":
            arr = scl_map()
            write_tif(OUT / item_id / f"{key}.tif", arr, res, "uint8")
        else:
            dn = np.round(truth(band, res) * 1e4) + (1000 if with_offset else 0)
            write_tif(OUT / item_id / f"{key}.tif", dn, res, "uint16")
        a["file:size"] = (OUT / item_id / f"{key}.tif").stat().st_size
        assets[key] = a
    it["assets"] = assets
    it["links"] = []
    return it


def main() -> None:
    c1_name = "earth-search-v1_sentinel-2-c1-l2a_10-items_13TDE_2024-04.json"
    pc_name = "pc_sentinel-2-l2a_two-items_13TDE_2024-08.json"
    sources = {name: (REF / name).read_bytes() for name in (c1_name, pc_name)}
    shutil.rmtree(OUT, ignore_errors=True)
    REF.mkdir(parents=True)
    for name, data in sources.items():
        (REF / name).write_bytes(data)
    c1 = json.loads(sources[c1_name])["features"][0]
    pc = json.loads(sources[pc_name])["features"][0]
    specs = [
        (c1, "c1", "S2A_T17TLG_20240702T163901_L2A", "2024-07-02T16:39:01Z", "05.10", True, None),
        (c1, "c1", "S2A_T17TKG_20240702T163901_L2A", "2024-07-02T16:39:01Z", "05.10", True, None),
        (c1, "es", "S2B_17TLG_20240705_0_L2A", "2024-07-05T16:49:01Z", "05.09", False, True),
        (
            pc,
            "pcnew",
            "S2A_MSIL2A_20240707T163901_R083_T17TLG_20240707T220000",
            "2024-07-07T16:39:01Z",
            "05.11",
            True,
            None,
        ),
        (
            pc,
            "pcold",
            "S2A_MSIL2A_20210707T163901_R083_T17TLG_20210707T220000",
            "2021-07-07T16:39:01Z",
            "02.12",
            False,
            None,
        ),
        (c1, "amb", "S2B_17TLG_20240712_0_L2A", "2024-07-12T16:49:01Z", "05.10", True, False),
    ]
    items = []
    for tpl, kind, iid, dt, pb, off, flag in specs:
        items.append(make(tpl, kind, iid, dt, pb, off, flag))
    (OUT / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=1))
    print(sum(f.stat().st_size for f in OUT.rglob("*.tif")), "bytes of COGs")


if __name__ == "__main__":
    main()
