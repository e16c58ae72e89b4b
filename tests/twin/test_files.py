"""The twin's files against the real ones: PACE structure, S2 items, catalog, manifest, determinism."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import netCDF4
import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr

from spectm.contract import StageResult
from spectm.twin import TwinResult, generate_twin
from spectm.twin.pace import L2_MASK, XARRAY_ARTEFACTS
from spectm.twin.pace_template import extract_structure

from .conftest import DATES, mini_aoi, mini_samples

REAL_L2 = (
    Path(__file__).resolve().parents[1] / "data" / "pace" / "PACE_OCI.20250305T160933.L2.OC_AOP.V3_1.subset10x10.nc"
)
ENCODED = (
    "_FillValue",
    "scale_factor",
    "add_offset",
    "valid_min",
    "valid_max",
    "flag_masks",
    "flag_meanings",
    "units",
    "standard_name",
    "coordinates",
)


def _walk(g: dict, path: str = "") -> dict[str, dict]:
    out = {path or "/": g}
    for name, sub in g["groups"].items():
        out.update(_walk(sub, f"{path}/{name}"))
    return out


def test_pace_structure_matches_real_file(mini_twin: TwinResult) -> None:
    real = _walk(extract_structure(REAL_L2))
    twin = _walk(extract_structure(mini_twin.granules[0]))
    assert real.keys() == twin.keys()
    for gpath, rg in real.items():
        tg = twin[gpath]
        assert set(rg["dims"]) == set(tg["dims"]), gpath
        assert set(rg["attrs"]) == set(tg["attrs"]), gpath
        for k, spec in rg["attrs"].items():
            assert spec["dtype"] == tg["attrs"][k]["dtype"], (gpath, k)
        assert rg["variables"].keys() == tg["variables"].keys(), gpath
        for vname, rv in rg["variables"].items():
            tv = tg["variables"][vname]
            assert (rv["dtype"], rv["dims"]) == (tv["dtype"], tv["dims"]), (gpath, vname)
            skip = {k for g, v, k in XARRAY_ARTEFACTS if v == vname and gpath.endswith(g)}
            assert set(rv["attrs"]) - skip == set(tv["attrs"]), (gpath, vname)
            for k in ENCODED:
                if k in rv["attrs"]:
                    assert rv["attrs"][k] == tv["attrs"][k], (gpath, vname, k)
    assert twin["/geophysical_data"]["dims"]["wavelength_3d"] == 172
    assert twin["/sensor_band_parameters"]["dims"]["number_of_bands"] == 286


def test_pace_same_reader_and_values(mini_twin: TwinResult) -> None:
    for path in (REAL_L2, mini_twin.granules[0]):
        tree = xr.open_datatree(path)
        assert tree["geophysical_data"]["Rrs"].dtype == np.float32
        assert tree["sensor_band_parameters"]["wavelength_3d"].size == 172
        assert tree["navigation_data"]["latitude"].dtype == np.float32
    with netCDF4.Dataset(mini_twin.granules[0]) as ds:
        gd = ds["geophysical_data"]
        gd.set_auto_maskandscale(False)
        raw = gd["Rrs"][:]
        flags = gd["l2_flags"][:]
        assert ds.processing_version == "3.1" and ds["processing_control"].mask_names == "ATMFAIL,LAND,CLDICE,HILT"
        assert ds.time_coverage_start.startswith("2024-08-05T1")
    filled = (flags & L2_MASK) != 0
    assert filled.any() and (~filled).any()
    assert np.all(raw[filled] == -32767)
    valid = raw[~filled]
    assert valid.min() >= -30000 and valid.max() <= 25000  # the real file's valid range
    ds = xr.open_dataset(mini_twin.granules[0], group="geophysical_data")
    rrs = ds["Rrs"].values[~filled]
    assert 0.001 < float(np.nanmedian(rrs[:, 84])) < 0.05  # 555 nm over Lake Erie
    wl = xr.open_dataset(mini_twin.granules[0], group="sensor_band_parameters")["wavelength_3d"].values
    o2 = (wl >= 686) & (wl <= 694)
    lo, hi = int(np.argmin(abs(wl - 684))), int(np.argmin(abs(wl - 697)))
    line = rrs[:, [lo]] + (rrs[:, [hi]] - rrs[:, [lo]]) * (wl[o2] - wl[lo]) / (wl[hi] - wl[lo])
    assert np.nanmean(rrs[:, o2] - line) < -0.0004  # the 690 nm artefact dips below the baseline


def test_s2_items_validate_and_load_with_odc_stac(mini_twin: TwinResult) -> None:
    import odc.stac

    cat = pystac.Catalog.from_file(str(mini_twin.data_dir / "raw" / "catalog" / "catalog.json"))
    assert cat.id == "spectm-raw"
    colls = {c.id: c for c in cat.get_children()}
    assert set(colls) == {"PACE_OCI_L2_AOP", "sentinel-2-c1-l2a"}
    items = list(colls["sentinel-2-c1-l2a"].get_items())
    assert len(items) == 4  # 2 days × 2 tiles
    for it in items:
        rt = pystac.Item.from_dict(it.to_dict())  # round-trip (schema validation needs the internet)
        assert rt.properties["grid:code"] in ("MGRS-17TKG", "MGRS-17TLG")
        assert rt.properties["s2:processing_baseline"] == "05.10"
        on_disk = json.loads(Path(it.get_self_href()).read_text())
        assert on_disk["properties"]["proj:epsg"] == 32617  # as real Earth Search v1 items (pystac may migrate it)
        assert it.assets["red"].href.startswith("../../../s2/")
        red = it.assets["red"]
        with rasterio.open(red.get_absolute_href()) as src:
            assert list(src.shape) == red.extra_fields["proj:shape"]
            assert list(src.transform)[:6] == red.extra_fields["proj:transform"]
            assert src.dtypes[0] == "uint16" and src.nodata == 0 and src.overviews(1) is not None
        assert red.extra_fields["raster:bands"][0]["offset"] == -0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = odc.stac.load(
            items[:2], bands=["red", "rededge1", "scl"], resolution=240, crs="EPSG:32617", resampling={"*": "nearest"}
        )
    assert ds["red"].dtype == np.uint16 and ds["scl"].dtype == np.uint8
    scl = ds["scl"].values
    water = scl == 6
    assert water.any()
    refl = ds["red"].values[water] * 1e-4 - 0.1
    assert 0.0 < float(np.median(refl)) < 0.1
    clouds = np.isin(scl, (8, 9))
    if clouds.any():
        assert np.median(ds["red"].values[clouds] * 1e-4 - 0.1) > 0.3


def test_pace_items_and_manifest(mini_twin: TwinResult) -> None:
    root = mini_twin.data_dir
    man = json.loads((root / "raw" / "manifest.json").read_text())
    assert man["generator"] == "twin" and man["region"]["name"] == "mini"
    paths = {it["path"] for it in man["items"]}
    assert all((root / p).is_file() for p in paths)
    assert {p.relative_to(root).as_posix() for p in mini_twin.granules} <= paths
    assert man["sources"]["pace_oci_l2_aop"]["downloaded"] == 2
    cat = pystac.Catalog.from_file(str(root / "raw" / "catalog" / "catalog.json"))
    pace = next(c for c in cat.get_children() if c.id == "PACE_OCI_L2_AOP")
    it = next(iter(pace.get_items()))
    assert it.id.startswith("PACE_OCI.20240805T") and it.id.endswith(".L2.OC_AOP.V3_1")
    assert it.properties["spectm:twin"] is True and it.properties["pace:version"] == "3.1"
    assert it.assets["data"].href == f"../../../pace/{it.id}.nc"


def test_deterministic_and_skip(mini_twin: TwinResult, mini_twin_again: TwinResult) -> None:
    assert [p.name for p in mini_twin.granules] == [p.name for p in mini_twin_again.granules]
    for a, b in zip(mini_twin.granules, mini_twin_again.granules, strict=True):
        with netCDF4.Dataset(a) as da, netCDF4.Dataset(b) as db:
            for var in ("geophysical_data/Rrs", "geophysical_data/l2_flags", "navigation_data/latitude"):
                np.testing.assert_array_equal(da[var][:], db[var][:])
    for sa, sb in zip(
        sorted(mini_twin.data_dir.glob("raw/s2/*/red.tif")),
        sorted(mini_twin_again.data_dir.glob("raw/s2/*/red.tif")),
        strict=True,
    ):
        with rasterio.open(sa) as x, rasterio.open(sb) as y:
            np.testing.assert_array_equal(x.read(1), y.read(1))
    again = generate_twin(
        mini_aoi(),
        DATES,
        data_dir=mini_twin.data_dir,
        seed=0,
        s2_resolution_m=120.0,
        s2_revisit_days=1,
        samples=mini_samples(),
    )
    assert again.status == "skipped"
    # the one stage result, on the first call and on the repeated one
    root = mini_twin.data_dir
    for r, status in ((mini_twin, "done"), (again, "skipped")):
        assert isinstance(r, StageResult) and r.stage == "twin" and r.status == status and r.summary
        assert r.outputs == [str(root / "raw" / "manifest.json"), str(root / "raw" / "catalog" / "catalog.json")]
        assert all(isinstance(v, int) for v in r.counts.values())
    assert all(Path(p).is_file() for p in again.outputs)
    assert mini_twin.summary.startswith("2 PACE granules") and again.summary.startswith("raw/ is complete")
    assert mini_twin.counts["granules"] == 2 and mini_twin.counts["bytes"] > 0


def test_other_parameters_refuse_without_force(mini_twin: TwinResult) -> None:
    from spectm.errors import BadInputError

    with pytest.raises(BadInputError, match="--force"):
        generate_twin(
            mini_aoi(),
            DATES,
            data_dir=mini_twin.data_dir,
            seed=1,
            s2_resolution_m=120.0,
            s2_revisit_days=1,
            samples=mini_samples(),
        )


def test_relative_data_dir_gives_hrefs_that_resolve(tmp_path, monkeypatch):
    """A relative ``--data-dir`` (as `make demo` passes) must give catalog hrefs that open."""
    import pystac

    from spectm.twin import generate_twin

    from .conftest import DATES, mini_aoi, mini_samples

    monkeypatch.chdir(tmp_path)
    generate_twin(
        mini_aoi(), DATES, data_dir=Path("rel-data"), s2_resolution_m=360.0, s2_revisit_days=1, samples=mini_samples()
    )
    monkeypatch.chdir(tmp_path.parent)  # hrefs must not depend on the working directory either
    cat = pystac.Catalog.from_file(str(tmp_path / "rel-data" / "raw" / "catalog" / "catalog.json"))
    items = list(cat.get_items(recursive=True))
    assert items
    for item in items:
        for asset in item.assets.values():
            assert Path(asset.get_absolute_href()).exists(), asset.href
