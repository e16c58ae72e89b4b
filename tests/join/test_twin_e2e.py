"""End to end: real GLERL rows (2024-08-05/12) → twin granules → build_cube → join → trainer reads chips."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from spectm import twin
from spectm.aoi import AOI, parse_bbox
from spectm.join import join
from spectm.join.show import chip_leaks

from .helpers import DATA

BBOX = (-83.45, 41.62, -83.15, 41.87)


def test_twin_cube_join(data_dir):
    from spectm.cube import build_cube
    from spectm.pretrain.data import ChipDataset
    from spectm.samples import ingest_samples, load_samples

    region = parse_bbox("lake_erie_western_basin")
    aoi = AOI(
        name="mini",
        bbox=BBOX,
        geometry=box(*BBOX),
        crs=region.crs,
        resolution=region.resolution,
        water=region.water.intersection(box(*BBOX)),
        s2_tiles=region.s2_tiles,
        stations=region.stations,
    )
    ingest_samples([DATA / "glerl_2024_aug05_aug12.csv"], data_dir=data_dir)
    twin.generate_twin(
        aoi, "2024-08-03:2024-08-06", data_dir=data_dir, include_s2=False, samples=load_samples(data_dir)
    )
    build_cube(aoi, "2024-08-03:2024-08-06", data_dir=data_dir, sensors=["pace"], scheduler="threads")
    res = join("e2e", data_dir=data_dir, unlabeled_per_date=4)
    c = res.manifest["counts"]
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
    # the season (year) for season splits, and the in-situ pigments for the evaluation's ceiling rows
    assert (m["season"] == 2024).all() and m["season"].dtype == np.int64
    assert {"chla_ugL", "pc_ugL"} <= set(m.columns) and m["chla_ugL"].notna().any()
    assert chip_leaks(data_dir, "e2e") == []
    ds = ChipDataset.from_zarr(data_dir / "features" / "e2e" / "chips.zarr", split="all")
    assert len(ds) == res.chips.sizes["chip"] and ds[0]["x"].shape[-1] == 8


def test_twin_s2_cube_join(data_dir):
    """The Sentinel-2 path end to end: twin S2 COGs → S2 cube (60 m) → join --sensor s2."""
    import json

    import shapely.geometry
    import yaml

    from spectm.cube import build_cube
    from spectm.samples import ingest_samples, load_samples

    region = parse_bbox("lake_erie_western_basin")
    water = region.water.intersection(box(*BBOX))
    # a user region (files, not code), so the join knows the water polygon of the mini lake
    regions = data_dir / "catalogs" / "regions"
    regions.mkdir(parents=True)
    (regions / "mini_s2.geojson").write_text(json.dumps(shapely.geometry.mapping(water)))
    (regions / "mini_s2.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mini_s2",
                "bbox": list(BBOX),
                "crs": region.crs.to_string() if hasattr(region.crs, "to_string") else str(region.crs),
                "resolution": {"pace": 1000.0, "s2": 60.0},
                "water": "mini_s2.geojson",
                "s2_tiles": list(region.s2_tiles),
                "stations": region.stations,
            }
        )
    )
    aoi = parse_bbox("mini_s2", data_dir)
    ingest_samples([DATA / "glerl_2024_aug05_aug12.csv"], data_dir=data_dir)
    twin.generate_twin(
        aoi,
        "2024-08-05:2024-08-07",
        data_dir=data_dir,
        seed=2,  # seed 2: a clear S2 overpass on 08-06 at the stations
        samples=load_samples(data_dir),
    )
    cube = build_cube(aoi, "2024-08-05:2024-08-07", data_dir=data_dir, sensors=["s2"], scheduler="threads")
    assert cube.sensors["s2"].days_written, "the twin has no S2 scene in the window: move the dates"
    res = join("s2", data_dir=data_dir, sensor="s2", unlabeled_per_date=2, chip_size=16)
    c = res.manifest["counts"]
    for hz in ("current", "ahead"):
        h = c["horizons"][hz]
        assert h["matched"] + sum(h["unmatched"].values()) == c["samples"]["considered"]
    m = res.matchups
    cur = m[m["horizon"] == "current"]
    assert len(cur) >= 1, f"no S2 match-up: {c['horizons']['current']}"
    bands = [col for col in m.columns if col.startswith("refl_") and not col.endswith("_spread")]
    assert {"refl_red", "refl_rededge1", "refl_nir"} <= set(bands), bands
    assert cur[bands].notna().all().all() and np.isfinite(cur["ndci"]).all()
    assert "ci" not in m.columns  # S2 has no 620/681 nm bands: CI is not computed (docs/features.md)
    assert (cur["sensor"] == "s2").all() and (cur["abs_dt_hours"] <= 48).all()
    ch = res.chips
    assert ch.attrs["sensor"] == "s2" and ch.sizes["band"] == len(bands) and ch.sizes["x"] == 16
    assert chip_leaks(data_dir, "s2") == []
