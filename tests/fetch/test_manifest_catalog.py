"""The manifest (atomic, incremental, merged across runs), the local catalog writer, the stage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from spectm.config import load_pipeline
from spectm.fetch.catalog import pace_item, read_local_catalog, write_local_catalog
from spectm.fetch.manifest import Manifest, ManifestEntry
from spectm.pipeline import run_pipeline

FOOT = {"type": "Polygon", "coordinates": [[[-84, 41], [-82, 41], [-82, 43], [-84, 43], [-84, 41]]]}


def _entry(i: int, status: str = "downloaded", source: str = "s") -> ManifestEntry:
    return ManifestEntry(
        source,
        "C",
        f"id{i}",
        "data",
        f"https://u:p@x/f{i}.nc?sig=SECRET&a=1",
        f"raw/pace/f{i}.nc",
        status,
        bytes=10 * i,
        expected_bytes=10 * i,
        size_check="ok",
    )  # type: ignore[arg-type]


def test_manifest_is_incremental_atomic_and_merged(tmp_path: Path) -> None:
    path = tmp_path / "raw" / "manifest.json"
    m = Manifest(path, region={"name": "r"}, flush_interval=0.0)
    m.set_search_counts("s", 5, 3)
    m.record(_entry(1))
    on_disk = json.loads(path.read_text())  # written as soon as a file finishes
    assert [i["id"] for i in on_disk["items"]] == ["id1"]
    assert "SECRET" not in path.read_text() and "u:p@" not in path.read_text()
    m.record(_entry(2, "failed"))
    assert not [p for p in path.parent.iterdir() if p.name != "manifest.json"]  # no temp files left
    # a second run replaces what it touches and keeps the rest
    m2 = Manifest(path, flush_interval=0.0)
    m2.record(_entry(2, "downloaded"))
    m2.record(_entry(3, "excluded", source="t"))
    d = json.loads(path.read_text())
    assert {i["id"]: i["status"] for i in d["items"]} == {"id1": "downloaded", "id2": "downloaded", "id3": "excluded"}
    assert d["sources"]["s"] | {} == {
        "searched": 5,
        "found": 3,
        "downloaded": 2,
        "skipped": 0,
        "failed": 0,
        "excluded": 0,
        "planned": 0,
        "bytes": 30,
    }
    assert d["sources"]["t"]["excluded"] == 1
    with pytest.raises(ValueError):
        _entry(4, "lost")


def test_corrupt_manifest_is_a_clear_error(tmp_path: Path) -> None:
    from spectm.errors import ConfigError

    p = tmp_path / "manifest.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="move it aside"):
        Manifest(p)


def _pace(data_dir: Path, name: str) -> None:
    f = data_dir / "raw" / "pace" / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(b"\x89HDF\r\n\x1a\n" + b"0" * 100)


def test_catalog_accumulates_and_survives_an_interrupted_swap(tmp_path: Path) -> None:
    a, b = "PACE_OCI.20240715T180512.L2.OC_AOP.V3_1.nc", "PACE_OCI.20240716T174013.L2.OC_AOP.V3_1.nc"
    for n in (a, b):
        _pace(tmp_path, n)
    kw = dict(
        geometry=FOOT,
        short_name="PACE_OCI_L2_AOP",
        version="3.1",
        nrt=False,
        product="L2_AOP",
        source="pace_oci_l2_aop",
        file_size=108,
    )
    write_local_catalog(
        tmp_path, [pace_item(tmp_path, a, start="2024-07-15T18:05:12Z", end="2024-07-15T18:10:12Z", **kw)]
    )
    # simulate a run killed between the two renames of the swap: only the old copy exists
    cat = tmp_path / "raw" / "catalog"
    os.replace(cat, tmp_path / "raw" / ".catalog-old-1-x")
    write_local_catalog(
        tmp_path,
        [pace_item(tmp_path, b, start="2024-07-16T17:40:13Z", end="2024-07-16T17:45:13Z", cloud_cover=40.5, **kw)],
    )
    items = {i.id: i for i in read_local_catalog(tmp_path)}
    assert set(items) == {a[:-3], b[:-3]}
    assert Path(items[a[:-3]].assets["data"].href) == (tmp_path / "raw/pace" / a).resolve()
    raw = json.loads((cat / "PACE_OCI_L2_AOP" / b[:-3] / f"{b[:-3]}.json").read_text())
    assert raw["assets"]["data"]["href"] == f"../../../pace/{b}"
    assert raw["properties"]["eo:cloud_cover"] == 40.5 and raw["properties"]["processing:level"] == "L2"
    assert not list((tmp_path / "raw").glob(".catalog-*"))


def test_fetch_stage_in_a_pipeline(stac_api, assets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cats = tmp_path / "catalogs" / "sources"
    cats.mkdir(parents=True)
    (cats / "s2_local.yaml").write_text(
        f"name: s2_local\nkind: stac\nurl: {stac_api.url}\ncollection: sentinel-2-c1-l2a\n"
        "assets: [coastal, blue, green, red, rededge1, rededge2, rededge3, nir, nir08, swir16, swir22, scl]\n"
    )
    monkeypatch.setenv("SPECTM_CATALOGS", str(tmp_path / "catalogs"))
    pf = tmp_path / "p.yaml"
    pf.write_text(
        "name: t\nregion: lake_erie_western_basin\ndates: 2024-07\nstages: [fetch]\n"
        "fetch: {sources: [s2_local], max_cloud_cover: 50, threads: 2, clip: true}\n"
    )
    data_dir = tmp_path / "data"
    [res] = run_pipeline(load_pipeline(pf), data_dir)
    assert res.status == "done" and res.summary == "24 downloaded, 0 already complete"
    [again] = run_pipeline(load_pipeline(pf), data_dir)
    assert again.status == "skipped" and again.summary == "0 downloaded, 24 already complete"
