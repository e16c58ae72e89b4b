"""End to end: real GLERL rows (2024-08-05/12) → twin granules → build_cube → join → trainer reads chips."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from spectm.aoi import AOI, parse_bbox
from spectm.features import join
from spectm.features.show import chip_leaks

from .helpers import DATA

twin = pytest.importorskip("spectm.twin")

BBOX = (-83.45, 41.62, -83.15, 41.87)


def test_twin_cube_join(data_dir):
    from spectm.cube import build_cube
    from spectm.model.data import ChipDataset
    from spectm.samples import ingest_samples, load_samples

    region = parse_bbox("lake_erie_western_basin")
    aoi = AOI(name="mini", bbox=BBOX, geometry=box(*BBOX), crs=region.crs, resolution=region.resolution,
              water=region.water.intersection(box(*BBOX)), s2_tiles=region.s2_tiles, stations=region.stations)
    ingest_samples([DATA / "glerl_2024_aug05_aug12.csv"], data_dir=data_dir)
    twin.generate_twin(aoi, "2024-08-03:2024-08-06", data_dir=data_dir, include_s2=False, samples=load_samples(data_dir))
    build_cube(aoi, "2024-08-03:2024-08-06", data_dir=data_dir, sensors=["pace"], scheduler="threads")
    res = join(data_dir, "e2e", unlabeled_per_date=4)
    c = res.counts
    assert c["samples"]["considered"] == 16 and c["samples"]["filtered"] == {"depth_bottom": 8, "depth_scum": 1}
    for hz in ("current", "ahead"):
        h = c["horizons"][hz]
        assert h["matched"] + sum(h["unmatched"].values()) == 16
    assert c["horizons"]["current"]["matched"] >= 3  # Aug 5 stations inside the mini box, ±1 day
    assert c["horizons"]["ahead"]["matched"] >= 1  # Aug 12 samples from Aug 3-5 imagery
    m = res.matchups
    cur = m[m["horizon"] == "current"]
    assert (cur["abs_dt_hours"] <= 48).all() and (cur["dist_m"] < 800).all()
    spectrum = [col for col in m.columns if col.startswith("rrs_") and not col.endswith("_spread")]
    assert len(spectrum) == 172 and m[spectrum].notna().all().all()
    assert np.isfinite(m["ci"]).all() and np.isfinite(m["ndci"]).all()
    we4 = m[(m["sample_id"] == "WE4_20240805_surface") & (m["horizon"] == "current")]
    assert len(we4) == 1 and bool(we4["pmc_ugL_censored"].iloc[0])  # the real 'bdl' PMC, censored at the LOD
    assert we4["pmc_ugL"].iloc[0] == we4["pmc_ugL_lod"].iloc[0] > 0
    assert chip_leaks(data_dir, "e2e") == []
    ds = ChipDataset.from_zarr(data_dir / "features" / "e2e" / "chips.zarr", split="all")
    assert len(ds) == res.chips.sizes["chip"] and ds[0]["x"].shape[-1] == 8
