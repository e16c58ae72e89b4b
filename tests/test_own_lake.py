"""Your own lake, end to end: the README's "Your own lake, end to end" walk, command for command.

A lake that is not Lake Erie (Lake Okeechobee, Florida: region files in the data dir's
catalogs/), an agency CSV in its own format (``%m/%d/%Y %H:%M`` local times, chlorophyll in
mg/m³, microcystin non-detects written ``ND`` / ``<DL``, a field duplicate) with its column map,
through samples ingest → twin generate → build-cube → join → train pretrain / regress →
predict, typed as the README shows them (``tests/data/own_lake/walk.sh``; tests/test_readme.py
checks that the README shows exactly these files and commands).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from spectm.cli import main

OWN_LAKE = Path(__file__).resolve().parent / "data" / "own_lake"
REGION_FILES = ("lake_okeechobee.yaml", "lake_okeechobee.geojson")
WORK_FILES = ("okeechobee_2024.csv", "okeechobee_2024.yaml", "okeechobee_train.yaml")


def walk_commands() -> list[str]:
    """The commands of walk.sh (the README's block), one per line, comments left out."""
    lines = (OWN_LAKE / "walk.sh").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _spectm(capsys: pytest.CaptureFixture[str], line: str) -> tuple[int, str, str]:
    argv = shlex.split(line)
    assert argv[0] == "spectm", line
    capsys.readouterr()
    try:
        main(argv[1:])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_own_lake_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the README's setup: region files in spectm-data/catalogs/regions/, the rest in the cwd
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPECTM_DATA", raising=False)
    monkeypatch.delenv("SPECTM_CATALOGS", raising=False)
    data = tmp_path / "spectm-data"
    regions = data / "catalogs" / "regions"
    regions.mkdir(parents=True)
    for name in REGION_FILES:
        shutil.copy(OWN_LAKE / name, regions / name)
    for name in WORK_FILES:
        shutil.copy(OWN_LAKE / name, tmp_path / name)

    commands = walk_commands()
    stages = [" ".join(shlex.split(c)[1:3]) for c in commands]
    assert [s.split()[0] for s in stages] == [
        "samples",
        "twin",
        "build-cube",
        "join",
        "train",
        "train",
        "predict",
    ]
    samples_path = data / "insitu" / "samples.parquet"
    outs: dict[str, str] = {}
    samples_sha = ""
    for line, stage in zip(commands, stages, strict=True):
        code, out, err = _spectm(capsys, line)
        assert code == 0, f"{line}\n{out}\n{err}"
        assert "Traceback" not in out + err, line
        outs[stage] = out
        if stage.startswith("samples"):
            samples_sha = _sha(samples_path)
        else:  # the twin (and every later stage) leaves the user's samples as they are
            assert _sha(samples_path) == samples_sha, f"{line} changed insitu/samples.parquet"

    # samples: all 37 rows kept, local EDT times to UTC, mg/m³ = µg/L, ND and <DL censored
    report = json.loads((data / "insitu" / "ingest_report.json").read_text())
    rep = report["files"]["okeechobee_2024.csv"]
    assert rep["nondetects"] == {"pmc_ugL": 14}
    s = pd.read_parquet(samples_path).set_index("sample_id")
    assert len(s) == 37 and (s["station_kind"] == "user").all()
    assert int(s["pmc_ugL_censored"].sum()) == 14
    nd = s[s["pmc_ugL_censored"]]
    assert (nd["pmc_ugL"] == 0.25).all() and (nd["pmc_ugL_lod"] == 0.25).all()
    first = s.loc["L001_20240604_surface"]
    assert first["pmc_ugL_censored"] and first["chla_ugL"] == pytest.approx(25.1)
    assert pd.Timestamp(first["time_utc"]) == pd.Timestamp("2024-06-04 13:10", tz="UTC")
    assert "LZ40_20240709_surface_2" in s.index
    assert "repeat an earlier station/day/depth (LZ40_20240709_surface_2)" in outs["samples ingest"]

    # twin: driven by the user's samples inside the lake, with the generic (not Maumee) prior
    man = json.loads((data / "raw" / "manifest.json").read_text())
    assert man["region"]["name"] == "lake_okeechobee"
    twin = man["twin"]
    assert twin["drivers"] == "samples" and twin["seasons"][0]["drivers"] == "samples"
    # 18 June .. 23 July (the season and 21 days before it), duplicates averaged: 5 days × 6 sites
    assert twin["drivers_samples_used"] == 30
    assert any("does not reach the Maumee River mouth" in n for n in twin["notes"])
    assert not any("climatology" in n for n in twin["notes"])
    assert any("existing insitu/samples.parquet" in n for n in twin["notes"])
    assert "constituents from samples" in outs["twin generate"]

    # build-cube and train defaulted to the twin's region and dates
    assert "--bbox lake_okeechobee --dates 2024-07-01:2024-07-28 (from raw/manifest.json)" in outs["build-cube"]
    cube = data / "cubes" / "lake_okeechobee_pace.zarr"
    assert (cube / "zarr.json").exists()
    assert not list((data / "cubes").glob("lake_erie*"))
    # the feature store, the runs and the maps
    fmeta = json.loads((data / "features" / "default" / "manifest.json").read_text())
    assert fmeta["inputs"]["cube"]["water_mask"] == "region water polygon"
    assert (data / "features" / "default" / "matchups.parquet").exists()
    assert (data / "runs" / "okeechobee-pretrain" / "model.safetensors").exists()
    assert (data / "runs" / "okeechobee-regress" / "metrics.md").exists()
    assert (data / "maps" / "lake_okeechobee.zarr").is_dir()
    pngs = sorted(p.name for p in (data / "maps" / "lake_okeechobee").glob("*.png"))
    cogs = sorted(p.name for p in (data / "maps" / "lake_okeechobee").glob("*.tif"))
    assert pngs == [f"2024-07-2{d}.png" for d in (2, 3, 4)]
    assert cogs == [f"2024-07-2{d}.tif" for d in (2, 3, 4)]
