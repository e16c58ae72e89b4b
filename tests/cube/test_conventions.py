"""Cubes follow the conventions their users' tools expect: consolidated Zarr metadata,
CF-1.8 / ACDD-1.3 attributes, checked with the IOOS compliance-checker on an exported slice."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectm.cube import build_cube
from spectm.cube.export import export_netcdf
from tests.cube.helpers import BBOX, S2_BBOX, SEASON, add_pace, add_s2

# Checker complaints that are not spectm's to fix (docs/cube.md § Conventions lists why):
# CF-1.8 §2.2 predates the unsigned and 64-bit integer types (allowed from CF-1.9 and in
# netCDF-4); S2's clear_fraction has no CF standard name to give.
ACCEPTED = (
    "failed because the datatype is uint8",
    "failed because the datatype is int64",
    'variable "clear_fraction" missing the following attributes',
)


@pytest.fixture(scope="module")
def cubes(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("conv")
    add_pace(d / "p", SEASON)
    pace = build_cube(BBOX, "2024-07-15:2024-07-18", data_dir=d / "p", sensors=["pace"], scheduler="synchronous")
    add_s2(d / "s")
    s2 = build_cube(S2_BBOX, "2024-07-01:2024-07-31", data_dir=d / "s", sensors=["s2"], scheduler="synchronous")
    return {"pace": pace.sensors["pace"].path, "s2": s2.sensors["s2"].path}


def high_priority(nc: Path, out: Path) -> list[str]:
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite().load_all_available_checkers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ComplianceChecker.run_checker(
            str(nc),
            ["cf:1.8", "acdd:1.3"],
            0,
            "normal",
            output_filename=str(out),
            output_format="json",
        )
    report = json.loads(out.read_text())
    msgs = []
    for suite, res in report.items():
        for item in res["high_priorities"]:
            msgs += [f"{suite} {item['name']}: {m}" for m in item["msgs"]]
    return msgs


@pytest.mark.parametrize("sensor", ["pace", "s2"])
def test_plain_open_zarr_is_consolidated_and_silent(cubes, sensor):
    meta = json.loads((cubes[sensor] / "zarr.json").read_text())
    assert "consolidated_metadata" in meta
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(cubes[sensor])
    # the consolidated copy is current: same shapes and attrs as the arrays' own metadata
    fresh = xr.open_zarr(cubes[sensor], consolidated=False)
    assert ds.sizes == fresh.sizes and ds.attrs == fresh.attrs
    assert ds.attrs["time_coverage_end"] == fresh.attrs["time_coverage_end"]


@pytest.mark.parametrize("sensor", ["pace", "s2"])
def test_cf_acdd_attributes(cubes, sensor):
    path = cubes[sensor]
    for coord in ("x", "y", "wavelength"):
        attrs = json.loads((path / coord / "zarr.json").read_text())["attributes"]
        assert "_FillValue" not in attrs, coord
    ds = xr.open_zarr(path)
    assert ds.attrs["id"] == f"spectm-cube-bbox-{sensor}-{ds.attrs['config_hash']}"
    assert ds.spatial_ref.attrs["long_name"]
    main = "rrs" if sensor == "pace" else "reflectance"
    assert ds[main].attrs["coverage_content_type"] == "physicalMeasurement"
    assert ds.valid_count.attrs["coverage_content_type"] == "auxiliaryInformation"
    if sensor == "s2":
        assert ds.reflectance.attrs["standard_name"] == "surface_bidirectional_reflectance"


@pytest.mark.parametrize("sensor", ["pace", "s2"])
def test_exported_slice_passes_the_compliance_checker(cubes, sensor, tmp_path):
    pytest.importorskip("compliance_checker")
    ds = xr.open_zarr(cubes[sensor])
    day = str(ds.time.values[0])[:10]
    nc = export_netcdf(ds, tmp_path / f"{sensor}.nc", [day])
    with xr.open_dataset(nc) as back:
        assert back.sizes["time"] == 1
        assert np.asarray(back.slice_complete.attrs["flag_values"]).dtype == np.uint8
        assert "_FillValue" not in back.x.encoding
        main = "rrs" if sensor == "pace" else "reflectance"
        np.testing.assert_array_equal(back[main].values, ds[main].isel(time=[0]).values)
    msgs = high_priority(nc, tmp_path / "report.json")
    assert msgs, "the checker reported nothing at all: it did not run"
    ours = [m for m in msgs if not any(a in m for a in ACCEPTED)]
    assert ours == []
