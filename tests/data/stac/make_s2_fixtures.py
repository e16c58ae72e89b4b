"""Make tests/data/stac/s2_c1_17T_synthetic_items.json from a real Earth Search v1 item.

Run from the repository root (reads the verbatim item collection next to this script):

    .venv/bin/python tests/data/stac/make_s2_fixtures.py

No real zone-17 item is in the test data (docs/sentinel2.md § Lake Erie tiles and CRS), so this copies
the real ``sentinel-2-c1-l2a`` item S2A_T13TDE_20240422T174753_L2A and relabels it to
Lake Erie tiles: id, datetime, geometry/bbox (the tile's true UTM outline in lon/lat),
``proj:epsg`` 32617, ``grid:code``/``mgrs:*``, ``eo:cloud_cover``, ``proj:centroid``.
Asset ``proj:shape``/``proj:transform`` are set to a *coarse* grid (400/800/2400 m
instead of 10/20/60 m) so the GeoTIFFs the tests generate to match stay tiny; hrefs
point at ``http://ASSET_HOST/s2/<id>/<FILE>.tif`` (rewritten by the tests to the
loopback file server). ``file:checksum``/``file:size`` are removed (the tests set
``file:size`` from the files they generate). Everything else is the real item.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pyproj import Transformer

SRC = Path(__file__).with_name("earth-search-v1_sentinel-2-c1-l2a_10-items_13TDE_2024-04.json")
OUT = Path(__file__).with_name("s2_c1_17T_synthetic_items.json")
KEYS = [
    "coastal",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir08",
    "swir16",
    "swir22",
    "scl",
    "thumbnail",
]
COARSE = {10: 400, 20: 800, 60: 2400}
# tile -> lower-left UTM corner (E, N) of the 109.8 km MGRS tile (zone 17N, docs/sentinel2.md § Lake Erie tiles and CRS)
TILES = {"17TLG": (299960, 4590240), "17TKG": (199960, 4590240), "17TNH": (499980, 4690200)}
SCENES = [
    ("S2A_T17TLG_20240715T163901_L2A", "17TLG", "2024-07-15T16:39:01.024000Z", 12.3),
    ("S2B_T17TLG_20240720T163859_L2A", "17TLG", "2024-07-20T16:38:59.024000Z", 85.0),
    ("S2A_T17TKG_20240715T163905_L2A", "17TKG", "2024-07-15T16:39:05.024000Z", 8.1),
    ("S2B_T17TNH_20240718T162901_L2A", "17TNH", "2024-07-18T16:29:01.024000Z", 3.0),
]


def main() -> None:
    real = json.loads(SRC.read_text())["features"][0]
    to_ll = Transformer.from_crs("EPSG:32617", "EPSG:4326", always_xy=True)
    feats = []
    for item_id, tile, dt, cc in SCENES:
        it = copy.deepcopy(real)
        e0, n0 = TILES[tile]
        ring = [(e0, n0), (e0 + 109800, n0), (e0 + 109800, n0 + 109800), (e0, n0 + 109800), (e0, n0)]
        ll = [list(to_ll.transform(x, y)) for x, y in ring]
        lons, lats = [p[0] for p in ll], [p[1] for p in ll]
        it["id"] = item_id
        it["geometry"] = {"type": "Polygon", "coordinates": [ll]}
        it["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
        it["links"] = []
        p = it["properties"]
        p.update(
            {
                "datetime": dt,
                "eo:cloud_cover": cc,
                "proj:epsg": 32617,
                "grid:code": f"MGRS-{tile}",
                "mgrs:utm_zone": 17,
                "mgrs:latitude_band": "T",
                "mgrs:grid_square": tile[3:],
                "proj:centroid": {"lat": round(sum(lats[:4]) / 4, 5), "lon": round(sum(lons[:4]) / 4, 5)},
                "platform": "sentinel-2a" if item_id.startswith("S2A") else "sentinel-2b",
            }
        )
        p.pop("s2:tile_id", None)
        assets = {}
        for k in KEYS:
            a = copy.deepcopy(it["assets"][k])
            fname = a["href"].rsplit("/", 1)[-1]
            a["href"] = f"http://ASSET_HOST/s2/{item_id}/{fname}"
            a.pop("file:checksum", None)
            a.pop("file:size", None)
            if "proj:transform" in a:
                res = COARSE[int(a["proj:transform"][0])]
                n = -(-109800 // res)
                a["proj:shape"] = [n, n]
                a["proj:transform"] = [res, 0, e0, 0, -res, n0 + 109800]
            assets[k] = a
        it["assets"] = assets
        p["spectm:synthetic"] = "relabelled copy of Earth Search v1 S2A_T13TDE_20240422T174753_L2A"
        feats.append(it)
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(feats)} items)")


if __name__ == "__main__":
    main()
