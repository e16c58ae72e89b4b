"""Fixtures for the fetch tests: real servers on 127.0.0.1 and replayed CMR responses.

* ``asset_server`` — spectm's range-capable file server (fault injection) serving small
  real GeoTIFFs generated here to match tests/data/stac/s2_c1_17T_synthetic_items.json;
* ``stac_api`` — ``rustac serve`` (a real STAC API) loaded with those items, their hrefs
  rewritten to ``asset_server``, plus the verbatim Earth Search 13TDE items;
* ``cmr`` — ``responses`` replaying the real UMM-G records in tests/data/cmr for
  earthaccess's CMR requests (docs/pace.md § Search: CMR and earthaccess), loopback passed through.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from spectm.fetch.testserver import RangeServer

DATA = Path(__file__).resolve().parents[1] / "data"
STAC_DATA = DATA / "stac"
CMR_DATA = DATA / "cmr"
ROOT = Path(__file__).resolve().parents[2]
RUSTAC = ROOT / ".venv" / "bin" / "rustac"
S2_ASSETS = [
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
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_cog(path: Path, shape: tuple[int, int], transform: list[float], dtype: str, seed: int) -> None:
    """A small real COG on the asset's grid, with nodata 0 in a corner (as real S2 tiles have)."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    hi = 12 if dtype == "uint8" else 4000
    data = rng.integers(1, hi, size=(1, *shape), dtype=dtype)
    data[:, : shape[0] // 5, : shape[1] // 5] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=shape[1],
        height=shape[0],
        count=1,
        dtype=dtype,
        crs="EPSG:32617",
        transform=Affine(*transform[:6]),
        nodata=0,
        compress="deflate",
        blocksize=256,
    ) as ds:
        ds.write(data)


@dataclass
class AssetServer:
    server: RangeServer
    root: Path
    items: list[dict[str, Any]]  # synthetic items with hrefs rewritten to this server


@pytest.fixture(scope="session")
def asset_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AssetServer]:
    root = tmp_path_factory.mktemp("assets")
    items = json.loads((STAC_DATA / "s2_c1_17T_synthetic_items.json").read_text())["features"]
    srv = RangeServer(root, seed=11)
    out = []
    for i, it in enumerate(items):
        it = copy.deepcopy(it)
        for key, a in it["assets"].items():
            rel = a["href"].split("ASSET_HOST/", 1)[1]
            a["href"] = srv.url_for(rel)
            if key == "thumbnail":
                continue
            dtype = a["raster:bands"][0]["data_type"]
            write_cog(root / rel, tuple(a["proj:shape"]), a["proj:transform"], dtype, seed=i * 100 + len(key))
            a["file:size"] = (root / rel).stat().st_size
        out.append(it)
    yield AssetServer(srv, root, out)
    srv.stop()


@pytest.fixture
def assets(asset_server: AssetServer) -> Iterator[AssetServer]:
    """The session asset server with a clean fault queue and bandwidth for this test."""
    st = asset_server.server.state
    st.faults.clear()
    st.rate_bps = None
    yield asset_server
    st.faults.clear()
    st.rate_bps = None


@dataclass
class StacApi:
    url: str
    items_file: Path


def start_rustac(files: list[Path]) -> tuple[subprocess.Popen, str]:
    """Start ``rustac serve`` on a free loopback port with ``files``; wait until it answers."""
    if not RUSTAC.exists() and shutil.which("rustac") is None:
        pytest.skip("rustac CLI not installed (pip install rustac)")
    exe = str(RUSTAC) if RUSTAC.exists() else str(shutil.which("rustac"))
    port = free_port()
    proc = subprocess.Popen(
        [exe, "serve", "--addr", f"127.0.0.1:{port}", *map(str, files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(url + "/", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"rustac serve did not start: {err[-2000:]}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def stac_api(asset_server: AssetServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StacApi]:
    d = tmp_path_factory.mktemp("stac")
    items_file = d / "lake_erie_items.json"
    items_file.write_text(json.dumps({"type": "FeatureCollection", "features": asset_server.items}))
    real = STAC_DATA / "earth-search-v1_sentinel-2-c1-l2a_10-items_13TDE_2024-04.json"
    coll = STAC_DATA / "earth-search-v1_sentinel-2-c1-l2a_collection.json"
    proc, url = start_rustac([coll, real, items_file])
    yield StacApi(url, items_file)
    stop(proc)


# ------------------------------------------------------------------------------ CMR replay


def cmr_records(
    name: str = "cmr_umm_g_PACE_OCI_L2_AOP_V3_1_great_lakes_20250305.earthaccess.json",
) -> list[dict[str, Any]]:
    """The real UMM-G records (``{"meta", "umm"}``) of a reference earthaccess dump."""
    return [d["render_dict"] | {} for d in json.loads((CMR_DATA / name).read_text())]


def nrt_copy(rec: dict[str, Any]) -> dict[str, Any]:
    """A derived NRT twin of a real refined record (same granule, ``.NRT`` name, NRT collection)."""
    r = copy.deepcopy(rec)
    umm, meta = r["umm"], r["meta"]
    old = umm["DataGranule"]["Identifiers"][0]["Identifier"]
    new = old.replace(".nc", ".NRT.nc")
    text = json.dumps(umm).replace(old, new).replace('"PACE_OCI_L2_AOP"', '"PACE_OCI_L2_AOP_NRT"')
    r["umm"] = json.loads(text)
    meta["concept-id"] = meta["concept-id"].replace("G", "G9", 1)
    meta["native-id"] = meta["native-id"].replace(old, new)
    return r


class CmrReplay:
    """Answers CMR granule searches with given records; remembers the queries."""

    URL = re.compile(r"https://cmr\.earthdata\.nasa\.gov/search/granules\.umm_json.*")

    def __init__(self, rsps: Any) -> None:
        self.rsps = rsps
        self.records: list[dict[str, Any]] = []
        self.by_short_name: dict[str, list[dict[str, Any]]] = {}
        self.queries: list[str] = []
        rsps.add_callback("GET", self.URL, callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.queries.append(request.url)
        m = re.search(r"page_size=(\d+)", request.url)
        size = int(m[1]) if m else 2000
        records = self.records
        for name, recs in self.by_short_name.items():
            if re.search(rf"short_name(%5B%5D)?={name}(&|$)", request.url):
                records = recs
                break
        items = records[:size] if size else []
        body = {"hits": len(records), "took": 3, "items": items}
        return 200, {"CMR-Hits": str(len(records)), "Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def cmr() -> Iterator[CmrReplay]:
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        yield CmrReplay(rsps)


@pytest.fixture
def no_earthdata_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in ("EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-such-netrc"))
    os.environ.pop("SPECTM_CATALOGS", None)


def fetch_served_items(items: list[dict], tmp_path: Path, data_dir: Path, *, clip: bool = False, retries: int = 1):
    """Serve ``items`` (Earth Search collection) with ``rustac serve``, fetch the western basin's
    2024-07-15 Sentinel-2 scenes from it into ``data_dir``, stop the server; the FetchResult
    (failed files are left in it to inspect, not raised)."""
    from spectm.fetch import fetch

    f = tmp_path / "items.json"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    proc, url = start_rustac([STAC_DATA / "earth-search-v1_sentinel-2-c1-l2a_collection.json", f])
    try:
        return fetch(
            "lake_erie_western_basin",
            "2024-07-15",
            data_dir=data_dir,
            sources=["s2_earth_search"],
            stac_url=url,
            clip=clip,
            retries=retries,
            raise_on_failure=False,
        )
    finally:
        stop(proc)
