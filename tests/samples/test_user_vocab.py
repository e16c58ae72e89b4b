"""A user's own lab vocabulary: non-detect words, unit spellings and repeated station/days."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spectm.cli import app
from spectm.errors import ConfigError
from spectm.samples import ingest_samples
from spectm.samples.column_map import converter

# An agency export in its own format: ND / "<DL" for non-detects, chlorophyll in mg/m³, TSS
# in g/m³, one station/day sampled twice (a field duplicate).
CSV = """\
Site,Date,Time,Latitude,Longitude,MC (ug/L),Chl (mg/m3),TSS (g/m3)
LZ40,2024-06-03,09:10,26.90,-80.79,ND,25.0,12
LZ40,2024-06-17,09:05,26.90,-80.79,<DL,31.5,10
LZ40,2024-07-01,09:20,26.90,-80.79,1.8,40.2,9
KISSR0.0,2024-06-03,10:30,27.14,-80.87,nd,18.0,20
KISSR0.0,2024-06-03,10:45,27.14,-80.87,0.4,18.3,21
"""

YAML = """\
timezone: America/New_York
columns: {{station: Site, date: Date, time: Time, lat: Latitude, lon: Longitude}}
date_format: "%Y-%m-%d"
default_depth_category: surface
variables:
  pmc_ugL:
    column: "MC (ug/L)"
    unit: {mc_unit}
    nondetect: {{tokens: [ND, "<DL"], lod: 0.15}}
  chla_ugL: {{column: "Chl (mg/m3)", unit: {chl_unit}}}
  tss_mgL: {{column: "TSS (g/m3)", unit: g/m³}}
"""


def _write(tmp_path: Path, mc_unit: str = "µg/L", chl_unit: str = "mg/m3") -> tuple[Path, Path]:
    csv, ymap = tmp_path / "okeechobee.csv", tmp_path / "okeechobee.yaml"
    csv.write_text(CSV)
    ymap.write_text(YAML.format(mc_unit=mc_unit, chl_unit=chl_unit))
    return csv, ymap


@pytest.fixture()
def result(tmp_path: Path):  # type: ignore[no-untyped-def]
    csv, ymap = _write(tmp_path)
    return ingest_samples([csv], data_dir=tmp_path / "data", column_map=ymap)


def test_nondetects_are_censored_not_missing(result) -> None:  # type: ignore[no-untyped-def]
    df = result.samples.set_index("sample_id")
    for sid in ("LZ40_20240603_surface", "LZ40_20240617_surface", "KISSR0.0_20240603_surface"):
        r = df.loc[sid]
        assert r.pmc_ugL_censored and r.pmc_ugL == pytest.approx(0.15)
        assert r.pmc_ugL_lod == pytest.approx(0.15)
    detected = df.loc["LZ40_20240701_surface"]
    assert not detected.pmc_ugL_censored and detected.pmc_ugL == pytest.approx(1.8)
    (f,) = result.files
    assert (f.pmc_censored, f.pmc_detected, f.nondetects) == (3, 2, 3)
    rep = result.report["files"]["okeechobee.csv"]
    assert rep["nondetects"] == {"pmc_ugL": 3} and "pmc_ugL" not in rep["missing_tokens"]


def test_unit_aliases(result) -> None:  # type: ignore[no-untyped-def]
    r = result.samples.set_index("sample_id").loc["LZ40_20240701_surface"]
    assert r.chla_ugL == pytest.approx(40.2)  # mg/m³ = µg/L
    assert r.tss_mgL == pytest.approx(9.0)  # g/m³ = mg/L


@pytest.mark.parametrize(
    ("spelling", "factor"),
    [
        ("mg/m3", 1),
        ("mg/m³", 1),
        ("mg m-3", 1),
        ("ug/l", 1),
        ("µg/L", 1),
        ("μg/L", 1),
        ("ug L-1", 1),
        ("ng/L", 1e-3),
        ("g/m3", 1e3),
    ],
)
def test_chlorophyll_spellings(spelling: str, factor: float) -> None:
    assert converter("chla_ugL", spelling)(2.0) == pytest.approx(2.0 * factor)


def test_unknown_unit_is_one_line_naming_accepted(tmp_path: Path) -> None:
    csv, ymap = _write(tmp_path, chl_unit="mmol/m3")
    with pytest.raises(ConfigError) as exc:
        ingest_samples([csv], data_dir=tmp_path / "data", column_map=ymap)
    msg = str(exc.value)
    assert "\n" not in msg and "mmol/m3" in msg and "mg/m3" in msg and "ug/l" in msg


def test_duplicate_station_day_counted_and_warned(tmp_path: Path) -> None:
    csv, ymap = _write(tmp_path)
    res = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(tmp_path / "data"),
            "samples",
            "ingest",
            str(csv),
            "--column-map",
            str(ymap),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1 row(s) repeat an earlier station/day/depth (KISSR0.0_20240603_surface_2)" in res.output
    again = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(tmp_path / "data"),
            "samples",
            "ingest",
            str(csv),
            "--column-map",
            str(ymap),
        ],
    )
    assert "repeat an earlier station/day/depth" in again.output  # also when up to date


def test_nondetect_without_lod_uses_smallest_detected(tmp_path: Path) -> None:
    csv, ymap = _write(tmp_path)
    ymap.write_text(ymap.read_text().replace(", lod: 0.15", ""))
    res = ingest_samples([csv], data_dir=tmp_path / "data", column_map=ymap)
    r = res.samples.set_index("sample_id").loc["LZ40_20240603_surface"]
    assert r.pmc_ugL_censored and r.pmc_ugL == pytest.approx(0.4)
    assert not math.isnan(r.pmc_ugL_lod)
