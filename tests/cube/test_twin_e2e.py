"""End to end on the Lake Erie twin: generate 3 days on a tiny extent, build both cubes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from shapely.geometry import box

from spectm.aoi import AOI, parse_bbox
from spectm.cube import build_cube
from spectm.cube.inspect import verify_cube

twin = pytest.importorskip("spectm.twin")


def test_twin_to_cubes(tmp_path):
    region = parse_bbox("lake_erie_western_basin")
    b = (-83.30, 41.65, -83.20, 41.72)
    aoi = AOI(name="tiny", bbox=b, geometry=box(*b), crs=region.crs, resolution=region.resolution,
              water=region.water.intersection(box(*b)), s2_tiles=region.s2_tiles)
    d = tmp_path / "data"
    twin.generate_twin(aoi, "2024-07-14:2024-07-16", data_dir=d, use_samples_stage=False)
    res = build_cube(aoi, "2024-07-14:2024-07-16", data_dir=d, scheduler="threads")
    pace, s2 = res.sensors["pace"], res.sensors["s2"]
    assert pace.days_written and not pace.items_failed and not s2.items_failed
    for r in (pace, s2):
        assert verify_cube(r.path) == []
    p = xr.open_zarr(pace.path, consolidated=False)
    assert p.sizes["wavelength"] == 172 and p.rio.crs.to_epsg() == 32617
    assert int((p.valid_count > 0).sum()) > 0
    rrs = p.rrs.values
    assert np.nanmax(rrs) < 0.1 and np.nanmin(rrs) > -0.01
    if s2.days_written:
        s = xr.open_zarr(s2.path, consolidated=False)
        assert float(s.x[0] - s.x[1]) == -20 and (s.x.values[0] - 10) % 1000 == 0 == (p.x.values[0] - 500) % 1000
        assert float(s.x[0]) - 10 == float(p.x[0]) - 500  # same grid extent: S2 nests in PACE
    again = build_cube(aoi, "2024-07-14:2024-07-16", data_dir=d, scheduler="threads")
    assert all(r.status == "up to date" for r in again.sensors.values())
