"""The twin's own items and files, served by `rustac serve` + the range server, fetched back.

The twin (spectm.twin) writes what fetch would have written. Serving its S2 items and
COGs as if they were Earth Search and fetching them must reproduce its files (whole
downloads byte-for-byte; windowed clips pixel-for-pixel) and items with the same
metadata, which is what lets build-cube treat twin and real data alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from spectm import twin
from spectm.aoi import AOI, parse_bbox
from spectm.fetch import fetch
from spectm.fetch.catalog import read_local_catalog
from spectm.fetch.testserver import RangeServer

from .conftest import start_rustac, stop

BBOX = (-83.45, 41.62, -83.15, 41.87)
DATES = "2024-08-05:2024-08-06"


def mini_aoi() -> AOI:
    """A small box near the GLERL stations, with the real water polygon and two real MGRS tiles."""
    region = parse_bbox("lake_erie_western_basin")
    b = box(*BBOX)
    return AOI(
        name="mini",
        bbox=BBOX,
        geometry=b,
        crs="EPSG:32617",
        water=region.water.intersection(b),
        s2_tiles=["17TKG", "17TLG"],
    )


@pytest.fixture(scope="module")
def served_twin(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("twin") / "data"
    twin.generate_twin(
        mini_aoi(), DATES, data_dir=root, s2_resolution_m=120.0, s2_revisit_days=1, use_samples_stage=False
    )
    s2_items = [i for i in read_local_catalog(root) if i.collection_id == "sentinel-2-c1-l2a"]
    if not s2_items:
        pytest.skip("the twin wrote no Sentinel-2 scene for this box")
    srv = RangeServer(root / "raw")
    feats = []
    for it in s2_items:
        d = it.to_dict(include_self_link=False)
        d["links"] = []
        for a in d["assets"].values():
            a["href"] = srv.url_for(Path(a["href"]).resolve().relative_to((root / "raw").resolve()).as_posix())
        feats.append(d)
    f = root.parent / "twin_items.json"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    proc, url = start_rustac([f])
    yield root, s2_items, url, srv
    stop(proc)
    srv.stop()


@pytest.mark.parametrize("clip", [False, True])
def test_fetching_the_twin_reproduces_it(served_twin, data_dir: Path, clip: bool) -> None:
    _root, twin_items, url, _srv = served_twin
    res = fetch(mini_aoi(), DATES, data_dir=data_dir, sources=["s2_earth_search"], stac_url=url, clip=clip)
    assert res.ok, [(e.id, e.asset, e.reason) for e in res.failed]
    assert res.sources["s2_earth_search"].found == len(twin_items)
    fetched = {i.id: i for i in read_local_catalog(data_dir)}
    for t in twin_items:
        f = fetched[t.id]
        assert set(f.assets) == set(t.assets)
        for k in ("datetime", "eo:cloud_cover", "grid:code", "s2:processing_baseline", "spectm:twin"):
            assert f.properties.get(k) == t.properties.get(k), k
        for key, ta in t.assets.items():
            fa = f.assets[key]
            assert fa.extra_fields["raster:bands"] == ta.extra_fields["raster:bands"]
            if not clip:
                assert Path(fa.href).read_bytes() == Path(ta.href).read_bytes()
            else:
                # The twin's files are already "tile ∩ region box"; clipping them again with
                # fetch's window rule (box → UTM, snapped outward to source pixels) keeps the
                # same pixels. The twin's window is up to 2 pixels wider (it pads/rounds
                # differently), so the clip is a sub-window, never shifted or resampled.
                with rasterio.open(fa.href) as a, rasterio.open(ta.href) as b:
                    assert a.res == b.res and a.crs == b.crs
                    col = (a.transform.c - b.transform.c) / b.transform.a
                    row = (a.transform.f - b.transform.f) / b.transform.e
                    assert col == int(col) and row == int(row) and col >= 0 and row >= 0
                    assert 0 <= b.width - a.width - col <= 2 and 0 <= b.height - a.height - row <= 2
                    win = rasterio.windows.Window(int(col), int(row), a.width, a.height)
                    assert np.array_equal(a.read(), b.read(window=win))
