"""Clip mode: spectm's retries must reach the server, not GDAL's /vsicurl/ cache of a failed reply."""

from __future__ import annotations

from pathlib import Path

from spectm.aoi import parse_bbox
from spectm.fetch.clip import clip_asset
from spectm.fetch.download import DownloadOptions
from spectm.fetch.testserver import Fault


def test_clip_retry_after_gdal_gave_up_reaches_the_server(assets, tmp_path: Path) -> None:
    href = assets.items[0]["assets"]["green"]["href"]
    path = "/" + href.split("/", 3)[3]
    opts = DownloadOptions(threads=1, retries=1, backoff=0.01, backoff_max=0.02, read_timeout=5, connect_timeout=2)
    # GDAL probes the URL 1 + GDAL_HTTP_MAX_RETRY (= retries) times: both fail, so spectm's first attempt fails.
    assets.server.state.add_fault(path, Fault("503", times=2, methods=("HEAD", "GET")))
    o = clip_asset(href, tmp_path / "green.tif", parse_bbox("lake_erie_western_basin").bbox, opts)
    log = assets.server.state.log
    mine = [r for r in log if r.path == path]
    assert [r.status for r in mine][:2] == [503, 503]
    assert o.status == "downloaded", (o.reason, [(r.method, r.status) for r in mine])
    assert o.attempts == 2 and any(r.status in (200, 206) for r in mine[2:])
