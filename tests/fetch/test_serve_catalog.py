"""The local catalog is servable: docs/fetch.md § Serving the local catalog, run as written —
``rustac crawl`` then ``rustac serve`` — and searched with pystac-client."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pystac_client import Client

from spectm.fetch.catalog import pace_item, write_local_catalog
from tests.cube.helpers import JUL16A, JUL16B, PACE_DIR, SEASON

from .conftest import RUSTAC, start_rustac, stop

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fetch.md"


def _catalog_of_real_granules(data_dir: Path) -> None:
    """raw/pace + raw/catalog as `spectm fetch` writes them, for the real PACE L2 subsets."""
    items = []
    for name in SEASON:
        f = data_dir / "raw" / "pace" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACE_DIR / name, f)
        with xr.open_dataset(f, group="navigation_data") as nav:
            lon, lat = nav.longitude.values, nav.latitude.values
        with xr.open_dataset(f) as root:
            t0, t1 = root.attrs["time_coverage_start"], root.attrs["time_coverage_end"]
            version = root.attrs["processing_version"]
        w, s, e, n = (float(v) for v in (np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat)))
        geom = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
        items.append(
            pace_item(
                data_dir,
                name,
                geometry=geom,
                start=t0,
                end=t1,
                short_name="PACE_OCI_L2_AOP",
                version=version,
                nrt=False,
                product="L2_AOP",
                source="pace_oci_l2_aop",
                file_size=f.stat().st_size,
            )
        )
    write_local_catalog(data_dir, items)


def test_docs_recipe_serves_the_catalog_to_pystac_client(tmp_path: Path) -> None:
    text = DOCS.read_text()
    assert "rustac crawl spectm-data/raw/catalog/catalog.json" in text and "--create-collections" in text
    exe = str(RUSTAC) if RUSTAC.exists() else shutil.which("rustac")
    if exe is None:
        pytest.skip("rustac CLI not installed (pip install rustac)")
    data = tmp_path / "spectm-data"
    _catalog_of_real_granules(data)
    crawled = tmp_path / "spectm-stac"
    subprocess.run(
        [exe, "crawl", str(data / "raw" / "catalog" / "catalog.json"), str(crawled)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = sorted(crawled.glob("*.json"))
    assert [f.name for f in files] == ["PACE_OCI_L2_AOP.json"]
    proc, url = start_rustac(["--create-collections", *files])  # extra serve flag, then the files
    try:
        client = Client.open(url)
        assert [c.id for c in client.get_collections()] == ["PACE_OCI_L2_AOP"]
        search = client.search(
            collections=["PACE_OCI_L2_AOP"],
            bbox=[-83.4, 41.6, -83.2, 41.8],
            datetime="2024-07-16/2024-07-16",
        )
        items = list(search.items())
        assert sorted(i.id for i in items) == sorted([JUL16A[:-3], JUL16B[:-3]])
        for it in items:  # assets point at the local files, ready for build-cube or odc-stac
            href = it.assets["data"].href
            assert href.startswith("file://") and Path(href[len("file://") :]).is_file()
            assert it.properties["pace:version"] == "3.1"
        assert len(list(client.search(bbox=[-83.4, 41.6, -83.2, 41.8], datetime="2024-07-15/2024-07-18").items())) == 4
    finally:
        stop(proc)
