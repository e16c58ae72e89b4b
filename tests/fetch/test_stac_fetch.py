"""Sentinel-2 through pystac-client against `rustac serve` on 127.0.0.1, assets from the range server."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest
import rasterio

from spectm.aoi import parse_bbox
from spectm.catalogs import get_source
from spectm.contract import StageResult
from spectm.dates import parse_dates
from spectm.errors import FetchError
from spectm.fetch import fetch
from spectm.fetch.catalog import read_local_catalog
from spectm.fetch.stac import search_stac
from spectm.fetch.testserver import Fault

from .conftest import S2_ASSETS

WB = "lake_erie_western_basin"
LG1 = "S2A_T17TLG_20240715T163901_L2A"
LG2 = "S2B_T17TLG_20240720T163859_L2A"
KG = "S2A_T17TKG_20240715T163905_L2A"


def test_search_filters_are_rechecked_client_side(stac_api, assets) -> None:
    src = get_source("s2_earth_search")
    res = search_stac(
        src, parse_bbox(WB), parse_dates("2024-07"), url=stac_api.url, tiles=["17TLG"], max_cloud_cover=50
    )
    assert res.searched == 3  # rustac's bbox search: the 17TNH scene and the Colorado items are not returned
    assert [i.id for i in res.items] == [LG1]
    reasons = {e.item_id: e.reason for e in res.excluded}
    assert reasons[LG2].startswith("cloud cover 85.0% > 50%")
    assert reasons[KG] == "tile 17TKG not in 17TLG"
    assert res.query_sent is False  # rustac does not conform to the query extension


def _s2(data_dir: Path, stac_api, **kw):
    args = dict(
        data_dir=data_dir,
        sources=["s2_earth_search"],
        stac_url=stac_api.url,
        max_cloud_cover=50,
        threads=3,
        timeout=5,
        retries=3,
    )
    args.update(kw)
    return fetch(WB, "2024-07", **args)


def test_fetch_whole_cogs_with_faults_then_rerun_skips(stac_api, assets, data_dir: Path) -> None:
    srv = assets.server.state
    srv.add_fault(f"/s2/{LG1}/B04.tif", Fault("reset"))
    srv.add_fault(f"/s2/{LG1}/SCL.tif", Fault("503", times=2))
    srv.add_fault(f"/s2/{KG}/B02.tif", Fault("short"))
    res = _s2(data_dir, stac_api, clip=False)
    assert res.ok, [(e.id, e.asset, e.reason) for e in res.failed]
    s = res.sources["s2_earth_search"]
    assert (s.searched, s.found, s.downloaded, s.failed) == (3, 2, 24, 0)
    for e in res.entries:
        if e.status == "downloaded":
            rel = e.url.split("127.0.0.1:", 1)[1].split("/", 1)[1]
            assert (data_dir / e.path).read_bytes() == (assets.root / rel).read_bytes()
            assert e.size_check == "ok" and e.bytes == e.expected_bytes
    manifest = json.loads((data_dir / "raw/manifest.json").read_text())
    assert manifest["sources"]["s2_earth_search"]["downloaded"] == 24
    assert {i["status"] for i in manifest["items"]} == {"downloaded", "excluded"}
    n_before = len([r for r in srv.log if r.method == "GET"])
    res2 = _s2(data_dir, stac_api, clip=False)
    assert res2.sources["s2_earth_search"].skipped == 24 and res2.sources["s2_earth_search"].downloaded == 0
    assert len([r for r in srv.log if r.method == "GET"]) == n_before
    # the one stage result: done when it downloaded, skipped when everything was complete
    for r, status, summary in (
        (res, "done", "24 downloaded, 0 already"),
        (res2, "skipped", "0 downloaded, 24 already"),
    ):
        assert isinstance(r, StageResult) and r.stage == "fetch" and r.status == status
        assert r.summary.startswith(summary) and r.outputs[0] == str(data_dir / "raw/manifest.json")
        assert r.counts["failed"] == 0 and all(isinstance(v, int) for v in r.counts.values())
    assert res.counts["downloaded"] == res2.counts["skipped"] == 24 and res.counts["bytes"] == res2.counts["bytes"] > 0


def test_fetch_clipped_cogs_and_local_catalog(stac_api, assets, data_dir: Path) -> None:
    assets.server.state.add_fault(f"/s2/{LG1}/B03.tif", Fault("503", times=2))
    res = _s2(data_dir, stac_api, clip=True)
    assert res.ok, [(e.id, e.asset, e.reason) for e in res.failed]
    items = {i.id: i for i in read_local_catalog(data_dir)}
    assert set(items) == {LG1, KG}
    it = items[LG1]
    assert set(it.assets) == set(S2_ASSETS)
    assert it.properties["spectm:source"] == "s2_earth_search"
    red = it.assets["red"]
    with rasterio.open(red.href) as ds:
        assert [ds.height, ds.width] == red.extra_fields["proj:shape"]
        assert list(ds.transform)[:6] == red.extra_fields["proj:transform"]
        full = assets.items[0]["assets"]["red"]["proj:shape"]
        assert ds.height < full[0] and ds.width < full[1]  # clipped to the basin, not the whole tile
        assert ds.dtypes[0] == "uint16" and ds.nodata == 0
        # the clip holds the source pixels of its window
        src_path = assets.root / "s2" / LG1 / "B04.tif"
        with rasterio.open(src_path) as src:
            col = round((ds.transform.c - src.transform.c) / src.transform.a)
            row = round((ds.transform.f - src.transform.f) / src.transform.e)
            win = rasterio.windows.Window(col, row, ds.width, ds.height)
            assert (src.read(1, window=win) == ds.read(1)).all()
    assert red.extra_fields["spectm:source_href"].endswith(f"/s2/{LG1}/B04.tif")
    assert red.extra_fields["raster:bands"][0]["scale"] == 0.0001
    # relative hrefs in the files on disk (catalog can be moved)
    raw = json.loads((data_dir / f"raw/catalog/sentinel-2-c1-l2a/{LG1}/{LG1}.json").read_text())
    assert raw["assets"]["red"]["href"] == f"../../../s2/{LG1}/red.tif"
    assert raw["properties"]["proj:epsg"] == 32617 and "proj:code" not in raw["properties"]  # as Earth Search v1
    assert "https://stac-extensions.github.io/projection/v1.1.0/schema.json" in raw["stac_extensions"]
    cat = pystac.Catalog.from_file(str(data_dir / "raw/catalog/catalog.json"))
    assert cat.id == "spectm-raw" and [c.id for c in cat.get_children()] == ["sentinel-2-c1-l2a"]
    # rerun: verified from metadata + local files, no new range reads
    n = len(assets.server.state.log)
    res2 = _s2(data_dir, stac_api, clip=True)
    assert res2.sources["s2_earth_search"].skipped == 24
    assert len(assets.server.state.log) == n


def test_missing_asset_fails_item_and_keeps_it_out_of_catalog(stac_api, assets, data_dir: Path) -> None:
    assets.server.state.add_fault(f"/s2/{KG}/B8A.tif", Fault("404", times=10))
    with pytest.raises(FetchError, match=f"1 file.*{KG}/nir08"):  # by default, after recording every file
        _s2(data_dir, stac_api, clip=False)
    assert [i["status"] for i in json.loads((data_dir / "raw/manifest.json").read_text())["items"]].count("failed") == 1
    res = _s2(data_dir, stac_api, clip=False, raise_on_failure=False)
    assert res.status == "done" and res.summary == "0 downloaded, 23 already complete, 1 failed"
    assert [(e.id, e.asset) for e in res.failed] == [(KG, "nir08")]
    assert res.failed[0].reason.startswith("gone (HTTP 404)")
    assert not (data_dir / f"raw/s2/{KG}/nir08.tif").exists()
    assert {i.id for i in read_local_catalog(data_dir)} == {LG1}
    with pytest.raises(FetchError, match="1 file"):
        res.raise_for_failures()


def test_dry_run_on_real_items_downloads_nothing(stac_api, data_dir: Path) -> None:
    """The verbatim Earth Search 13TDE items: sizes from their real file:size, no request to AWS."""
    res = fetch(
        "-105.3,39.7,-104.9,40.6",
        "2024-04",
        data_dir=data_dir,
        sources=["s2_earth_search"],
        stac_url=stac_api.url,
        clip=False,
        dry_run=True,
        tiles=["13TDE"],
    )
    s = res.sources["s2_earth_search"]
    assert s.searched == 9 and s.found == 9 and s.planned == 108  # the 10th item is from 31 March
    # a dry run downloaded nothing but knows nothing is complete either: done, and the summary says so
    assert res.status == "done" and res.summary == "dry run: 108 to fetch, 0 already complete; nothing downloaded"
    assert res.counts["planned"] == 108 and res.counts["downloaded"] == 0
    real = json.loads(
        (
            Path(__file__).parents[1] / "data/stac/earth-search-v1_sentinel-2-c1-l2a_10-items_13TDE_2024-04.json"
        ).read_text()
    )
    april = [f for f in real["features"] if f["properties"]["datetime"].startswith("2024-04")]
    expect = sum(f["assets"][k]["file:size"] for f in april for k in S2_ASSETS)
    assert s.bytes == expect
    assert not (data_dir / "raw/s2").exists() and not (data_dir / "raw/catalog").exists()
