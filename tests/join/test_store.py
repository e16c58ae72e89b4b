"""The feature store: manifest, determinism, skip/refuse, chips schema read by the trainer, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spectm.cli import main
from spectm.contract import StageResult
from spectm.errors import BadInputError, DataNotFoundError
from spectm.join import join, load_chips, load_matchups

from .helpers import write_samples

ROWS = [
    {"station": st, "cell": cell, "date": d, "sample_id": f"{st}_{d}"}
    for st, cell in (("WE2", (3, 3)), ("WE4", (3, 8)), ("WE6", (8, 5)))
    for d in ("2024-08-02", "2024-08-04", "2024-08-11")
]


def test_manifest_determinism_and_skip(tiny):
    write_samples(tiny, ROWS)
    a = join("a", data_dir=tiny, unlabeled_per_date=3, chip_time=2, chip_size=4)
    b = join("b", data_dir=tiny, unlabeled_per_date=3, chip_time=2, chip_size=4)
    assert a.status == b.status == "done"
    man = json.loads((tiny / "features" / "a" / "manifest.json").read_text())
    assert man["inputs"]["samples"]["sha256"] and man["inputs"]["cube"]["fingerprint"]
    assert man["params"]["chip_time"] == 2 and man["key"] == b.manifest["key"]
    assert man["outputs"] == b.manifest["outputs"]  # byte-identical matchups, unmatched and chips
    again = join("a", data_dir=tiny, unlabeled_per_date=3, chip_time=2, chip_size=4)
    assert again.status == "skipped"
    # the one stage contract: a StageResult with its summary line and flat numeric counts
    for r, want in ((a, "done"), (again, "skipped")):
        assert (
            isinstance(r, StageResult) and r.stage == "join" and r.status == want and r.skipped == (want == "skipped")
        )
        assert r.summary.startswith("features/a: matched current ") and r.outputs == [str(r.path)]
        assert r.counts["chips"] == man["counts"]["chips"]["total"] > 0
        assert all(isinstance(v, int | float) for v in r.counts.values())
    with pytest.raises(BadInputError, match="--force"):
        join("a", data_dir=tiny, unlabeled_per_date=3, chip_time=1, chip_size=4)
    forced = join("a", data_dir=tiny, unlabeled_per_date=3, chip_time=1, chip_size=4, force=True)
    assert forced.status == "done" and forced.manifest["key"] != man["key"]
    # chips: T steps in increasing time, the last is the match-up's observation
    ch = b.chips  # (a's lazy arrays point at the store just replaced by --force)
    assert ch["chips"].dims == ("chip", "time", "band", "y", "x") and ch.sizes["time"] == 2
    d = ch["chip_date"].values
    assert (np.diff(d, axis=1) > np.timedelta64(0)).all()
    m = b.matchups
    ok = m[m["chip_status"] == "ok"]
    for _, r in ok.iterrows():
        assert str(ch["chip"].values[r["chip_index"]]) == r["chip"]
        assert np.datetime64(ch["chip_date"].values[r["chip_index"], -1], "D") == np.datetime64(r["obs_time"], "D")
    # counts add up: every match-up chip is kept, excluded or short of history
    c = b.manifest["counts"]["chips"]
    assert c["matchup"] + c["excluded_leak"]["matchup"] + c["short_history"]["matchup"] == len(m)


def test_chips_read_by_the_trainer_and_future_target(tiny):
    from spectm.pretrain.data import ChipDataset

    write_samples(tiny, ROWS)
    res = join("t", data_dir=tiny, unlabeled_per_date=2, chip_size=4, lead_days=2, time_window_days=0, split="time")
    ds = ChipDataset.from_zarr(tiny / "features" / "t" / "chips.zarr", split="all")
    assert len(ds) == res.chips.sizes["chip"] > 0
    item = ds[0]
    assert tuple(item["x"].shape) == (1, 6, 4, 4)
    ch = load_chips(tiny, "t")
    fd = ch["future_date"].values
    last = ch["chip_date"].values[:, -1]
    has = ~np.isnat(fd)
    assert has.any()
    assert ((fd[has] - last[has]) == np.timedelta64(2, "D")).all()  # lead 2 days, window 0
    assert np.isnan(ch["future"].values[~has]).all()


def test_python_api_returns_frames(tiny):
    import geopandas as gpd
    import xarray as xr

    write_samples(tiny, ROWS)
    res = join(data_dir=tiny, unlabeled_per_date=0)
    assert isinstance(res.matchups, gpd.GeoDataFrame) and res.matchups.crs.to_epsg() == 4326
    assert isinstance(res.chips, xr.Dataset)
    assert len(load_matchups(tiny, "default", horizon="current")) == (res.matchups["horizon"] == "current").sum()


def test_cli_exit_codes(tiny, tmp_path, capsys):
    write_samples(tiny, ROWS)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as e:
            main(["--data-dir", str(tiny), *args])
        return int(e.value.code or 0)

    assert run("join", "--name", "cli", "--unlabeled-per-date", "2") == 0
    out = capsys.readouterr().out
    assert "Match-ups" in out and "no_overpass" in out
    assert run("join", "--name", "cli", "--unlabeled-per-date", "2") == 0  # skipped
    assert run("join", "--name", "cli", "--pixel-window", "4") == 2  # even window
    assert run("join", "--name", "cli", "--agg", "mode") == 2
    assert run("join", "--name", "cli", "--sensor", "s2") == 2  # no s2 cube
    assert run("join", "--name", "cli", "--min-valid", "0.9") == 2  # other params, no --force
    assert run("features", "list") == 0
    png = tmp_path / "scatter.png"
    assert run("features", "show", "cli", "--png", str(png)) == 0
    assert png.stat().st_size > 1000 and "leakage check: ok" in capsys.readouterr().out
    assert run("features", "show", "nope") == 2
    assert run("features", "show", "cli", "--index", "mci", "--png", str(png)) == 2


def test_missing_inputs_are_clear_errors(data_dir):
    with pytest.raises(DataNotFoundError, match="build-cube"):
        join("x", data_dir=data_dir)


def test_pipeline_stage(data_dir):
    """`spectm run` stage: the cube defaults to the pipeline's region; the region's water polygon is used."""
    from spectm.config import Pipeline
    from spectm.join.stage import run_stage

    from .helpers import CubeSpec, base_rrs, write_cube

    write_cube(data_dir, CubeSpec(days=["2024-08-02", "2024-08-03"], rrs=base_rrs(2)), region="lake_erie_western_basin")
    write_samples(data_dir, ROWS)
    pipe = Pipeline(
        name="t", region="lake_erie_western_basin", dates="2024-08", stages=["join"], join={"unlabeled_per_date": 0}
    )
    res = run_stage(pipe, data_dir)
    assert res.stage == "join" and res.status == "done"
    man = json.loads((data_dir / "features" / "default" / "manifest.json").read_text())
    # the contract's counts are the manifest's numbers behind the summary line
    assert res.counts["chips"] == man["counts"]["chips"]["total"] > 0
    assert {k: res.counts[f"matched_{k}"] for k in man["counts"]["horizons"]} == {
        k: v["matched"] for k, v in man["counts"]["horizons"].items()
    }
    assert man["inputs"]["cube"]["water_mask"] == "region water polygon"
    assert run_stage(pipe, data_dir).status == "skipped"


def test_join_without_cube_then_the_stage_naming_it_is_skipped(data_dir):
    """`spectm join` (the only cube) then `spectm train` (whose join stage names the region's
    cube) is one store: the second is skipped, not refused as built from other parameters."""
    from spectm.config import Pipeline
    from spectm.join.stage import run_stage

    from .helpers import CubeSpec, base_rrs, write_cube

    write_cube(data_dir, CubeSpec(days=["2024-08-02", "2024-08-03"], rrs=base_rrs(2)), region="lake_erie_western_basin")
    write_samples(data_dir, ROWS)
    assert join(data_dir=data_dir, unlabeled_per_date=0).status == "done"
    pipe = Pipeline(
        name="train", region="lake_erie_western_basin", dates="2024-08", stages=["join"], join={"unlabeled_per_date": 0}
    )
    assert run_stage(pipe, data_dir).status == "skipped"
    assert join(data_dir=data_dir, unlabeled_per_date=0).status == "skipped"
    # the other way round: a store built naming the cube is the one `spectm join` finds
    assert join("b", data_dir=data_dir, cube="lake_erie_western_basin", unlabeled_per_date=0).status == "done"
    assert join("b", data_dir=data_dir, unlabeled_per_date=0).status == "skipped"
    with pytest.raises(BadInputError, match="--force"):  # other parameters are still refused
        join("b", data_dir=data_dir, unlabeled_per_date=1)
