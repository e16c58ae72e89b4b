"""``spectm catalog add``: hand-downloaded PACE granules and Sentinel-2 scenes become the items
fetch writes, and build-cube builds the same cube from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectm.aoi import parse_bbox
from spectm.cube import build_cube
from tests.cube.helpers import BBOX, PACE_DIR, S2_BBOX, S2_DIR, V31, add_pace, add_s2
from tests.cube.test_cli import spectm

REAL_L2 = Path(__file__).resolve().parent / "data" / "pace" / "PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc"
REAL_BBOX = "-67.6,32.4,-66.9,32.7"  # around the real granule subset (Sargasso Sea, 2025-03-05)


def test_real_pace_l2_subset_registered_then_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "data"
    before = REAL_L2.read_bytes()
    code, out, err = spectm(capsys, d, "catalog", "add", str(REAL_L2))
    assert code == 0, err
    assert "PACE_OCI_L2_AOP" in out and "added" in out
    item_json = d / "raw" / "catalog" / "PACE_OCI_L2_AOP" / REAL_L2.stem / f"{REAL_L2.stem}.json"
    item = json.loads(item_json.read_text())
    props = item["properties"]
    assert props["start_datetime"] == "2025-03-05T16:09:33Z" and props["end_datetime"] == "2025-03-05T16:14:32Z"
    assert (
        props["pace:version"],
        props["pace:product"],
        props["pace:nrt"],
        props["spectm:source"],
    ) == ("3.1", "L2_AOP", False, "pace_oci_l2_aop")
    w, s, e, n = item["bbox"]  # from the 10x10 lat/lon grid, not the whole granule's geospatial_* attributes
    assert -67.56 < w < e < -66.88 and 32.42 < s < n < 32.68
    asset = item["assets"]["data"]
    assert asset["href"] == f"../../../pace/{REAL_L2.name}" and asset["file:size"] == len(before)
    copied = d / "raw" / "pace" / REAL_L2.name
    assert copied.read_bytes() == before and not copied.samefile(REAL_L2) and REAL_L2.read_bytes() == before
    # build-cube sees it: NASA's default mask flags every pixel of this subset (cloud), which the
    # summary now counts; without flags the day has valid cells
    code, out, err = spectm(
        capsys,
        d,
        "build-cube",
        f"--bbox={REAL_BBOX}",
        "--dates",
        "2025-03-05",
        "--sensor",
        "pace",
        "--scheduler",
        "synchronous",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)["pace"]
    assert res["days_written"] == ["2025-03-05"] and res["days_empty"] == ["2025-03-05"]
    shutil.rmtree(d / "cubes")
    code, out, err = spectm(
        capsys,
        d,
        "build-cube",
        f"--bbox={REAL_BBOX}",
        "--dates",
        "2025-03-05",
        "--sensor",
        "pace",
        "--scheduler",
        "synchronous",
        "--flags",
        "none",
        "--json",
    )
    assert code == 0 and json.loads(out)["pace"]["days_empty"] == [], err
    cube = xr.open_zarr(d / "cubes" / "bbox_pace.zarr", consolidated=False)
    assert int((cube.valid_count > 0).sum()) > 0 and cube.sizes["wavelength"] == 172
    # again: the same item is replaced, not duplicated
    code, out, _ = spectm(capsys, d, "catalog", "add", str(REAL_L2))
    assert code == 0 and "replaced" in out
    assert len(list((d / "raw" / "catalog").glob("*/*/*.json"))) == 1


def test_same_pace_cube_as_a_fetched_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fetched, added = tmp_path / "fetched", tmp_path / "added"
    add_pace(fetched, [V31])
    code, _, err = spectm(capsys, added, "catalog", "add", str(PACE_DIR / V31), "--link")
    assert code == 0, err
    a, b = (
        build_cube(parse_bbox(BBOX), "2024-07-15", data_dir=x, sensors=("pace",), scheduler="synchronous")
        for x in (fetched, added)
    )
    ra = xr.open_zarr(a.sensors["pace"].path, consolidated=False)
    rb = xr.open_zarr(b.sensors["pace"].path, consolidated=False)
    assert a.sensors["pace"].days_written == b.sensors["pace"].days_written != []
    np.testing.assert_array_equal(ra.rrs.values, rb.rrs.values)


def test_sentinel2_scene_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sid = "S2A_T17TLG_20240702T163901_L2A"
    feat = next(f for f in json.loads((S2_DIR / "items.json").read_text())["features"] if f["id"] == sid)
    scene = tmp_path / "downloads" / sid  # what a user saves from a STAC browser: COGs + the item JSON
    shutil.copytree(S2_DIR / sid, scene)
    code, _, err = spectm(capsys, tmp_path / "added", "catalog", "add", str(scene))
    assert code == 2 and "STAC item JSON" in err and "Traceback" not in err
    assert not (tmp_path / "added" / "raw" / "catalog").exists()  # nothing half-added
    (scene / f"{sid}.json").write_text(json.dumps(feat))
    code, out, err = spectm(
        capsys, tmp_path / "added", "catalog", "add", str(scene / "red.tif"), str(scene / "scl.tif")
    )
    assert code == 0, err
    assert out.count(sid) == 1  # two COGs of one scene: one item
    item = json.loads((tmp_path / "added" / "raw" / "catalog" / feat["collection"] / sid / f"{sid}.json").read_text())
    assert item["properties"]["s2:processing_baseline"] == feat["properties"]["s2:processing_baseline"]
    assert item["assets"]["red"]["href"] == f"../../../s2/{sid}/red.tif" and "proj:shape" in item["assets"]["red"]
    add_s2(tmp_path / "fetched", [sid])
    a, b = (
        build_cube(parse_bbox(S2_BBOX), "2024-07-02", data_dir=x, sensors=("s2",), scheduler="synchronous")
        for x in (tmp_path / "fetched", tmp_path / "added")
    )
    assert a.sensors["s2"].days_written == b.sensors["s2"].days_written != []
    ra = xr.open_zarr(a.sensors["s2"].path, consolidated=False)
    rb = xr.open_zarr(b.sensors["s2"].path, consolidated=False)
    np.testing.assert_array_equal(ra.reflectance.values, rb.reflectance.values)


def test_not_a_granule_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "lake.nc"
    bad.write_bytes(b"not netcdf")
    code, _, err = spectm(capsys, tmp_path / "d", "catalog", "add", str(bad))
    assert code == 2 and "PACE OCI L2 file name" in err and "Traceback" not in err
    code, _, err = spectm(capsys, tmp_path / "d", "catalog", "add", str(tmp_path / "missing.nc"))
    assert code == 2 and "does not exist" in err
