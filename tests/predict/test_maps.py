"""spectm predict: tiling, mosaic values and counts, the map cube's layout, PNGs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectm.cli import main
from spectm.contract import StageResult
from spectm.errors import BadInputError, DataNotFoundError, DateRangeError
from spectm.predict import predict_maps
from spectm.predict.quicklook import THRESHOLDS, classify
from spectm.predict.tiling import blend_window, tile_origins
from spectm.provenance import mark_complete

from .conftest import RatioRegressor, truth


def test_tile_origins_cover_the_grid_with_an_edge_row() -> None:
    assert tile_origins(12, 12, 4) == [(r, c) for r in (0, 4, 8) for c in (0, 4, 8)]
    o = tile_origins(10, 9, 4)  # not a whole number of tiles: one more, flush with the edge
    assert sorted({r for r, _ in o}) == [0, 4, 6] and sorted({c for _, c in o}) == [0, 4, 5]
    cover = np.zeros((10, 9), int)
    for r, c in o:
        cover[r : r + 4, c : c + 4] += 1
    assert (cover >= 1).all()
    with pytest.raises(ValueError):
        tile_origins(3, 10, 4)
    assert tile_origins(10, 4, 4, stride=2) == [(0, 0), (2, 0), (4, 0), (6, 0)]


def test_classes_follow_the_advisory_thresholds() -> None:
    ug = np.array([0.1, 0.3, 1.0, 1.6, 5.9, 6.0, 7.9, 8.0, 19.0, 20.0, 500.0])
    assert classify(np.log10(ug)).tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert classify(np.array([np.nan])).tolist() == [-1]
    assert [t for t, _ in THRESHOLDS] == [0.3, 1.6, 6.0, 8.0, 20.0]


def test_maps_hold_the_regressor_values_at_the_right_cells(cube_dir: tuple[Path, np.ndarray]) -> None:
    data_dir, rrs = cube_dir
    reg = RatioRegressor()
    res = predict_maps(reg, "2024-07-30:2024-08-07", data_dir=data_dir, name="m", overlap=0)
    ds = xr.open_zarr(res.path, consolidated=False)
    assert ds["mc_log10"].dims == ("time", "y", "x") and ds.sizes["time"] == 5
    mc = ds["mc_log10"].values
    want = np.stack([truth(rrs[t]) for t in range(5)])
    assert np.isfinite(want[2, 0, 7])
    want[2, 0:4, 0:8] = np.nan  # day 3: tile (0, 0) clouded, tile (0, 4) too few valid: not predicted
    ok = np.isfinite(want)
    np.testing.assert_allclose(mc, want, rtol=1e-5)  # NaN exactly where expected, values where valid
    assert np.isnan(mc[:, 2, 2]).all()  # land
    np.testing.assert_allclose(ds["mc_ugL"].values[ok], 10.0 ** want[ok], rtol=1e-4)
    assert (ds["valid"].values == np.isfinite(mc)).all()
    assert ds["n_pred"].values[0, 5, 5] == 1 and ds["n_pred"].values[2, 0, 0] == 0
    assert ds.rio.crs.to_epsg() == 32617
    tif = res.path.parent / "day1.tif"  # a GeoTIFF for a GIS, georeferenced like the cube
    ds["mc_ugL"].isel(time=0).rio.to_raster(tif)
    import rasterio

    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == 32617 and src.transform.c == 300000.0 and src.transform.f == 4621000.0
    gm = ds["mc_log10"].attrs.get("grid_mapping", ds["mc_log10"].encoding.get("grid_mapping"))
    assert gm == "spatial_ref"
    assert (
        ds.attrs["Conventions"] == "CF-1.8, ACDD-1.3"
        and ds.attrs["geospatial_lat_min"] < ds.attrs["geospatial_lat_max"]
    )
    prov = json.loads(ds.attrs["spectm_provenance"])
    assert prov["regressor"] == "RatioRegressor" and len(prov["cube_fingerprint"]) == 64
    assert "spectm_version" in ds.attrs
    # counts: 9 tiles of 4×4 on 12×12, all hold water; day 3 loses tile (0,0) to cloud and (0,4) to too few valid
    c = res.manifest["counts"]
    assert c["days_in_range"] == 9 and c["days_without_imagery"] == 4 and c["dates_mapped"] == 5
    assert c["water_tiles"] == 9 and c["land_tiles"] == 0
    assert c["skipped"] == {"no_valid": 1, "too_few_valid": 1, "short_history": 0}
    assert c["tiles_predicted"] == 5 * 9 - 2 == int(ds["tiles_predicted"].values.sum())
    assert ds["tiles_no_valid"].values.tolist() == [0, 0, 1, 0, 0]
    assert c["cells_predicted"] == int(np.isfinite(mc).sum())
    pngs = [p.name for p in res.pngs]
    assert pngs == [f"2024-08-0{d}.png" for d in range(1, 6)]
    assert (res.png_dir / "manifest.json").exists()


def test_overlapping_tiles_are_blended_with_the_sine_window(cube_dir: tuple[Path, np.ndarray]) -> None:
    data_dir, rrs = cube_dir
    res = predict_maps(RatioRegressor(chip_size=8), "2024-08-01", data_dir=data_dir, name="m8", quicklooks=False)
    ds = xr.open_zarr(res.path, consolidated=False)
    n = ds["n_pred"].values[0]
    # default overlap 4 → stride 4 → origins 0 and 4 on both axes of the 12-cell grid
    assert n[0, 0] == 1 and n[0, 5] == 2 and n[5, 5] == 4 and n[11, 11] == 1
    ok = np.isfinite(truth(rrs[0]))  # the same per-pixel value from every tile: blending keeps it
    np.testing.assert_allclose(ds["mc_log10"].values[0][ok], truth(rrs[0])[ok], rtol=1e-5)
    assert res.pngs == []

    class ChipConstant(RatioRegressor):
        """Each chip predicts one value: the mean of its last step's Rrs(709) × 1000."""

        def predict_chips(self, chips: np.ndarray, days: np.ndarray) -> np.ndarray:
            v = np.nanmean(chips[:, -1, 5], axis=(1, 2)) * 1000.0
            return np.broadcast_to(v[:, None, None], (len(chips), 4, 4)).astype(np.float32).copy()

    res = predict_maps(ChipConstant(), "2024-08-01", data_dir=data_dir, name="blend", quicklooks=False, force=True)
    got = xr.open_zarr(res.path, consolidated=False)["mc_log10"].values[0]
    w = blend_window(4)
    origins = tile_origins(12, 12, 4, 2)
    acc, wsum = np.zeros((12, 12)), np.zeros((12, 12))
    for r0, c0 in origins:
        v = np.nanmean(rrs[0, 5, r0 : r0 + 4, c0 : c0 + 4]) * 1000.0
        acc[r0 : r0 + 4, c0 : c0 + 4] += w * v
        wsum[r0 : r0 + 4, c0 : c0 + 4] += w
    want = acc / wsum
    want[2, 2] = np.nan  # land
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert w[0, 0] < w[1, 1] and w.min() > 0
    with pytest.raises(BadInputError, match="overlap"):
        predict_maps(ChipConstant(), "2024-08-01", data_dir=data_dir, name="x", overlap=4)


def test_history_steps_and_days_as_the_join_stage_picks_them(cube_dir: tuple[Path, np.ndarray]) -> None:
    data_dir, _ = cube_dir
    reg = RatioRegressor(chip_time=2)
    res = predict_maps(reg, "2024-08", data_dir=data_dir, name="h", quicklooks=False, overlap=0)
    # day 1 has no earlier slice: short history for every tile; day 4's tiles (0,0)/(0,4) skip the
    # clouded day 3 and take day 2 as history (chip_min_valid 0.5 of the join defaults)
    assert res.manifest["counts"]["skipped"]["short_history"] == 9
    assert all(shape[1] == 2 for shape, _ in reg.calls)
    days = np.concatenate([d for _, d in reg.calls])
    assert set(np.round(days[:, 0], 6).tolist()) == {-1.0, -2.0} and (days[:, 1] == 0).all()


def test_identical_rerun_is_skipped_and_other_settings_need_overwrite(
    cube_dir: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, _ = cube_dir
    with pytest.raises(DataNotFoundError, match="no complete regress run 'p-regress-"):
        predict_maps(None, "2024-08-01", data_dir=data_dir, pipeline_name="p")
    run = data_dir / "runs" / "p-regress-r1"
    reg_dir = run / "regressor" / "spectm-finetune_current"
    reg_dir.mkdir(parents=True)
    (reg_dir / "regressor.json").write_text("{}")
    mark_complete(run, {"stage": "regress"})
    reg = RatioRegressor()
    monkeypatch.setattr("spectm.predict.maps.load", lambda path: reg)
    first = predict_maps("p-regress-r1", "2024-08-01:2024-08-02", data_dir=data_dir, name="x", quicklooks=False)
    assert first.status == "done" and len(reg.calls) == 2
    # no checkpoint: the pipeline's latest complete regress run, the same regressor, so skipped
    again = predict_maps(
        None, "2024-08-01:2024-08-02", data_dir=data_dir, name="x", pipeline_name="p", quicklooks=False
    )
    assert again.status == "skipped" and len(reg.calls) == 2
    # the one stage contract: a StageResult with its summary line and the manifest's numbers, flat
    for r, want in ((first, "done"), (again, "skipped")):
        assert isinstance(r, StageResult) and r.stage == "predict" and r.status == want
        assert r.summary == "x.zarr: 2 dates mapped (0 days without imagery), " + (
            f"{r.manifest['counts']['tiles_predicted']} chips predicted, {r.manifest['counts']['tiles_skipped']} skipped"
        )
        assert r.outputs == [str(r.path), str(r.png_dir)] and r.counts["dates_mapped"] == 2
        assert "skipped" not in r.counts and all(isinstance(v, int | float) for v in r.counts.values())
    with pytest.raises(BadInputError, match="--force"):
        predict_maps("p-regress-r1", "2024-08-01:2024-08-03", data_dir=data_dir, name="x", quicklooks=False)
    third = predict_maps(
        "p-regress-r1", "2024-08-01:2024-08-03", data_dir=data_dir, name="x", quicklooks=False, force=True
    )
    assert third.status == "done" and xr.open_zarr(third.path, consolidated=False).sizes["time"] == 3


def test_bad_input_is_a_clear_error(cube_dir: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    data_dir, _ = cube_dir
    with pytest.raises(DateRangeError, match="outside the cube"):
        predict_maps(RatioRegressor(), "2024-06", data_dir=data_dir)
    with pytest.raises(DataNotFoundError, match="no s2 cube"):
        predict_maps(RatioRegressor(sensor="s2"), "2024-08", data_dir=data_dir)
    with pytest.raises(BadInputError, match="wavelengths"):
        predict_maps(RatioRegressor(wavelengths=np.array([400.0, 665.0])), "2024-08", data_dir=data_dir)
    with pytest.raises(BadInputError, match="does not fit"):
        predict_maps(RatioRegressor(chip_size=16), "2024-08", data_dir=data_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match="no pace cube"):
        predict_maps(RatioRegressor(), "2024-08", data_dir=empty)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--checkpoint", "nope", "--dates", "2024-08"], "neither a directory nor a run id"),
        (["--checkpoint", "RUN", "--dates", "2024-08"], "holds no regressor"),
    ],
)
def test_cli_exit_2_with_remedy(
    cube_dir: tuple[Path, np.ndarray], capsys: pytest.CaptureFixture, args: list[str], needle: str
) -> None:
    data_dir, _ = cube_dir
    (data_dir / "runs" / "RUN").mkdir(parents=True)
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(data_dir), "predict", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "remedy" in err
