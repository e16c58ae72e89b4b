"""``spectm predict`` writes one Cloud-Optimized GeoTIFF per date that a GIS opens as-is."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr

from spectm.predict import predict_maps
from spectm.predict.cog import overview_factors

from .conftest import RatioRegressor


def test_one_valid_cog_per_date_matching_the_map_cube(cube_dir: tuple[Path, np.ndarray]) -> None:
    data_dir, _ = cube_dir
    res = predict_maps(
        RatioRegressor(), "2024-07-30:2024-08-07", data_dir=data_dir, name="m", overlap=0, quicklooks=False
    )
    assert [p.name for p in res.cogs] == [f"2024-08-0{d}.tif" for d in range(1, 6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the finished map store opens without a consolidated-metadata warning
        ds = xr.open_zarr(res.path)
    from rio_cogeo.cogeo import cog_validate

    for i, tif in enumerate(res.cogs):
        valid, errors, warns = cog_validate(str(tif), strict=True)
        assert valid and errors == [] and warns == [], (tif.name, errors, warns)
        with rasterio.open(tif) as src:
            assert src.driver == "GTiff" and src.count == 1 and src.dtypes == ("float32",)
            assert src.crs.to_epsg() == 32617
            assert src.transform.c == 300000.0 and src.transform.f == 4621000.0 and src.transform.a == 1000.0
            assert np.isnan(src.nodata)
            assert src.profile["tiled"] and src.overviews(1) == [2]  # 12 × 12 cells: 16-cell tiles, one overview
            assert src.tags(1)["units"] == "ug L-1" and src.tags()["target_date"] == f"2024-08-0{i + 1}"
            got = src.read(1)
        want = ds["mc_ugL"].isel(time=i).values
        np.testing.assert_array_equal(got, want)  # the same float32 values, NaN where none
    assert ds.attrs["id"].startswith("spectm-maps-tiny-pace-")
    assert ds["mc_log10"].attrs["coverage_content_type"] == "modelResult"
    assert "consolidated_metadata" in json.loads((res.path / "zarr.json").read_text())


def test_overview_levels_reach_one_block() -> None:
    assert overview_factors(12, 12, 16) == [2]
    assert overview_factors(4485, 5100, 256) == [2, 4, 8, 16, 32]  # 5100 / 32 = 159 ≤ 256
    assert overview_factors(600, 600, 256) == [2, 4]  # 300 > 256: a second level
