"""STAC ``file:checksum`` is checked on whole-file downloads and kept in the local item."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from .conftest import fetch_served_items

WB = "lake_erie_western_basin"


def test_file_checksum_is_verified_kept_and_a_mismatch_quarantined(assets, data_dir: Path, tmp_path: Path) -> None:
    item = copy.deepcopy(assets.items[0])
    for key, a in item["assets"].items():
        if key == "thumbnail":
            continue
        body = (assets.root / a["href"].split("/", 3)[3]).read_bytes()
        a["file:checksum"] = "1220" + hashlib.sha256(body).hexdigest()
    item["assets"]["red"]["file:checksum"] = "1220" + hashlib.sha256(b"another file").hexdigest()
    res = fetch_served_items([item], tmp_path, data_dir)
    [bad] = res.failed
    assert bad.asset == "red" and "sha256 checksum" in bad.reason
    assert bad.quarantine == f"raw/quarantine/s2/{item['id']}/red.tif" and (data_dir / bad.quarantine).exists()
    assert not (data_dir / f"raw/s2/{item['id']}/red.tif").exists()
    good = [e for e in res.entries if e.status == "downloaded"]
    assert len(good) == 11 and all(e.checksum and e.checksum.startswith("sha256:") for e in good)
    m = json.loads((data_dir / "raw/manifest.json").read_text())
    assert {i["asset"]: i["checksum"] for i in m["items"] if i["status"] == "downloaded"}["green"] == (
        "sha256:" + item["assets"]["green"]["file:checksum"][4:]
    )
    # the fixed red asset: the rerun fetches it again, and the item (now complete) keeps its checksums
    item["assets"]["red"]["file:checksum"] = (
        "1220" + hashlib.sha256((assets.root / item["assets"]["red"]["href"].split("/", 3)[3]).read_bytes()).hexdigest()
    )
    res2 = fetch_served_items([item], tmp_path, data_dir)
    assert res2.ok and res2.sources["s2_earth_search"].downloaded == 1 and res2.sources["s2_earth_search"].skipped == 11
    local = json.loads((data_dir / f"raw/catalog/sentinel-2-c1-l2a/{item['id']}/{item['id']}.json").read_text())
    for key in ("red", "green", "scl"):
        assert local["assets"][key]["file:checksum"] == item["assets"][key]["file:checksum"]
