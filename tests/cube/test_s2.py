from __future__ import annotations

import json

import numpy as np
import pystac
import pytest
import xarray as xr
from shapely.geometry import box

from spectm.aoi import AOI, parse_bbox
from spectm.cube import build_cube
from spectm.cube.s2_cube import aggregate
from spectm.cube.s2_offsets import OffsetRule, catalogue, offset_rule, resolve_ambiguous
from spectm.errors import BadInputError
from tests.cube.helpers import S2_BBOX, S2_DIR, add_s2

ITEMS = {f["id"]: f for f in json.loads((S2_DIR / "items.json").read_text())["features"]}
C1 = "S2A_T17TLG_20240702T163901_L2A"
C1B = "S2A_T17TKG_20240702T163901_L2A"
ES = "S2B_17TLG_20240705_0_L2A"
PCNEW = "S2A_MSIL2A_20240707T163901_R083_T17TLG_20240707T220000"
PCOLD = "S2A_MSIL2A_20210707T163901_R083_T17TLG_20210707T220000"
AMB = "S2B_17TLG_20240712_0_L2A"


def item(iid: str, **props) -> pystac.Item:
    d = json.loads(json.dumps(ITEMS[iid]))
    d["properties"].update(props)
    return pystac.Item.from_dict(d)


def test_offset_rule_per_catalogue():
    assert catalogue(item(C1)) == "c1" and catalogue(item(ES)) == "es-l2a" and catalogue(item(PCNEW)) == "pc"
    assert offset_rule(item(C1)) == OffsetRule(1e-4, -0.1, "c1 raster:bands PB05.10")
    es = offset_rule(item(ES))  # flag true: the -0.1 in raster:bands must be ignored
    assert (es.scale, es.offset, es.ambiguous) == (1e-4, 0.0, False)
    assert ITEMS[ES]["assets"]["red"]["raster:bands"][0]["offset"] == -0.1
    assert (offset_rule(item(PCNEW)).offset, offset_rule(item(PCOLD)).offset) == (-0.1, 0.0)
    assert offset_rule(item(PCNEW), "red").rule.startswith("pc baseline")  # B04 found for 'red'
    amb = offset_rule(item(AMB))
    assert amb.ambiguous and amb.offset == -0.1
    assert offset_rule(item(ES, **{"s2:processing_baseline": "03.01"})).offset == 0.0
    c1_old = item(C1, **{"s2:processing_baseline": "03.00"})
    for a in c1_old.assets.values():
        a.extra_fields.pop("raster:bands", None)
    assert offset_rule(c1_old).offset == 0.0  # c1 without raster:bands: decided by baseline
    jp2 = item(ES)
    jp2.assets["red-jp2"] = jp2.assets.pop("red")
    assert offset_rule(jp2, "red-jp2").offset == -0.1  # raw ESA file: always offset at PB >= 04.00


def test_dark_water_check_and_bad_items():
    amb = offset_rule(item(AMB))
    assert resolve_ambiguous(amb, 1060.0).offset == -0.1
    assert resolve_ambiguous(amb, 60.0).offset == 0.0
    assert resolve_ambiguous(amb, None).offset == -0.1
    no_pb = item(C1)
    del no_pb.properties["s2:processing_baseline"]
    with pytest.raises(BadInputError, match="processing_baseline"):
        offset_rule(no_pb)
    other = item(C1)
    other.collection_id = "landsat-c2-l2"
    with pytest.raises(BadInputError, match="not a Sentinel-2"):
        offset_rule(other)


@pytest.fixture(scope="module")
def s2cube(tmp_path_factory):
    d = tmp_path_factory.mktemp("s2") / "data"
    add_s2(d)
    r = build_cube(S2_BBOX, "2021-07-01:2024-07-31", data_dir=d, sensors=["s2"], scheduler="synchronous").sensors["s2"]
    return d, r, xr.open_zarr(r.path, consolidated=False).load()


def test_every_offset_case_recovers_the_same_reflectance(s2cube):
    _, r, ds = s2cube
    assert [str(t)[:10] for t in ds.time.values] == [
        "2021-07-07",
        "2024-07-02",
        "2024-07-05",
        "2024-07-07",
        "2024-07-12",
    ]
    ref = ds.reflectance.isel(time=1)
    for i in range(ds.sizes["time"]):
        np.testing.assert_allclose(ds.reflectance.isel(time=i).values, ref.values, atol=1e-6, equal_nan=True)
    nir = float(ref.sel(band="nir08").mean())
    assert 0.004 < nir < 0.008  # offset removed: clear water NIR near 0, not 0.1
    assert "dark-water" in str(ds.processing_version.values[-1])
    assert list(ds.band.values[:4]) == ["coastal", "blue", "green", "red"]
    assert float(ds.wavelength.sel(band="red")) == 665.0
    assert ds.rio.crs.to_epsg() == 32617 and ds.rio.transform().a == 20
    assert r.items_used == 6 and not r.items_failed


def test_scl_masking_and_same_day_combination(s2cube):
    _, _, ds = s2cube
    two = ds.isel(time=1)
    assert int(two.valid_count.max()) == 2  # two overlapping tiles on 2024-07-02
    assert two.source_ids.values.item().count(";") == 1
    # the fixture's SCL cloud block (rows 0-19 = northing 4620800-4620400) is masked
    cloud = two.reflectance.sel(band="red", y=slice(4620790, 4620410), x=slice(308410, 308790))
    assert cloud.size and bool(cloud.isnull().all())
    clear = two.reflectance.sel(band="red", y=slice(4619990, 4619500), x=slice(308800, 309400))
    assert bool(clear.notnull().all())
    assert (two.valid_count.values > 0).sum() == np.isfinite(two.reflectance.sel(band="red").values).sum()
    assert 0 < float(two.clear_fraction) < 1


def test_water_polygon_masks_land(tmp_path):
    d = tmp_path / "data"
    add_s2(d, [C1])
    base = parse_bbox(S2_BBOX)
    w, s, e, n = base.bbox
    half = box(w, s, (w + e) / 2, n)
    aoi = AOI(name="half", bbox=base.bbox, geometry=box(*base.bbox), crs="EPSG:32617", water=half)
    ds = xr.open_zarr(
        build_cube(aoi, "2024-07-02", data_dir=d, sensors=["s2"], scheduler="synchronous").sensors["s2"].path,
        consolidated=False,
    )
    red = ds.reflectance.sel(band="red").isel(time=0)
    from pyproj import Transformer

    xmid = Transformer.from_crs(4326, 32617, always_xy=True).transform((w + e) / 2, (s + n) / 2)[0]
    assert bool(red.where(red.x > xmid + 100).isnull().all())
    assert bool(red.where(red.x < xmid - 100).notnull().any())


def test_missing_asset_is_recorded_not_fatal(tmp_path):
    d = tmp_path / "data"
    add_s2(d, [C1, C1B])
    (d / "raw" / "s2" / C1B / "red.tif").unlink()
    r = build_cube(S2_BBOX, "2024-07-02", data_dir=d, sensors=["s2"], scheduler="synchronous").sensors["s2"]
    assert list(r.items_failed) == [C1B] and "red" in r.items_failed[C1B]
    ds = xr.open_zarr(r.path, consolidated=False)
    assert int(ds.valid_count.max()) == 1 and ds.source_ids.values[0] == C1


def test_chunked_equals_unchunked_and_aggregate(tmp_path, s2cube):
    _, _, ref = s2cube
    d = tmp_path / "data"
    add_s2(d, [C1, C1B])
    r = build_cube(S2_BBOX, "2024-07-02", data_dir=d, sensors=["s2"], scheduler="threads", s2_chunk=40).sensors["s2"]
    ds = xr.open_zarr(r.path, consolidated=False).load()
    np.testing.assert_array_equal(ds.reflectance.values[0], ref.reflectance.values[1])
    agg = aggregate(ds, 100.0)
    assert agg.sizes["x"] == ds.sizes["x"] // 5
    manual = ds.reflectance.isel(time=0, band=3, y=slice(75, 80), x=slice(40, 45)).values
    assert np.isfinite(manual).all()
    np.testing.assert_allclose(agg.reflectance.isel(time=0, band=3, y=15, x=8).values, manual.mean(), rtol=1e-6)
    assert float(agg.clear_fraction_cell.isel(time=0, y=15, x=8)) == 1.0
    with pytest.raises(BadInputError):
        aggregate(ds, 30.0)


def test_day_accumulator_by_hand():
    """Two items over a 1 × 3 block, hand-computed: mean of the clear in-water values per band
    with each item's own offset, NaN where no item is clear, and the count of clear items."""
    from spectm.cube.s2_cube import DayAccumulator

    water = np.array([[True, True, False]])
    a_b1, a_b2, a_scl = (
        np.array([[1000, 0, 500]], np.uint16),
        np.array([[2000, 3000, 500]], np.uint16),
        np.array([[6, 6, 6]], np.uint8),
    )
    b_b1, b_b2, b_scl = (
        np.array([[3000, 1200, 900]], np.uint16),
        np.array([[4000, 1400, 900]], np.uint16),
        np.array([[6, 9, 6]], np.uint8),
    )
    acc = DayAccumulator(2, water, (0, 1, 3, 8, 9, 10, 11))
    acc.add([a_b1, a_b2], a_scl, 1e-4, -0.1)
    acc.add([b_b1, b_b2], b_scl, 1e-4, 0.0)
    out = acc.result()
    assert out.shape == (3, 1, 3) and out.dtype == np.float32
    # cell 0: both clear → band 1 mean(0.0, 0.3), band 2 mean(0.1, 0.4)
    np.testing.assert_allclose(out[:2, 0, 0], [0.15, 0.25], atol=1e-6)
    # cell 1: item a band 1 is DN 0 (nodata), item b is cloud (SCL 9) → band 1 NaN, band 2 from a only
    assert np.isnan(out[0, 0, 1]) and not np.signbit(out[0, 0, 1])  # the canonical NaN (byte-identical stores)
    np.testing.assert_allclose(out[1, 0, 1], 0.2, atol=1e-6)
    assert np.isnan(out[:2, 0, 2]).all()  # cell 2 is land: outside the water polygon
    np.testing.assert_array_equal(out[2, 0], [2, 1, 0])
