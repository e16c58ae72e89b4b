"""``spectm run``: stages run in order, complete work is skipped, a failed run resumes.

The chain here is real where it is cheap — the ``join`` stage on a tiny hand-built cube and
the ``predict`` stage — with a ``regress`` stage in between that follows the run-directory
rules of spectm/provenance.py (deterministic id, ``complete.json`` last) and hands predict a
regressor test double, so the whole file runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
import yaml

from spectm.cli import main
from spectm.config import Pipeline, load_pipeline
from spectm.contract import StageResult
from spectm.errors import StageError
from spectm.pipeline import STAGES, run_pipeline
from spectm.provenance import file_fingerprint, is_complete, mark_complete, stage_run_id
from tests.join.helpers import CubeSpec, base_rrs, write_cube, write_samples
from tests.predict.conftest import RatioRegressor

CALLS: dict[str, int] = {}
BBOX = "-83.5,41.55,-83.2,41.75"  # holds the 12 × 12 km test grid; its cube is cubes/bbox_pace.zarr


def fake_regress(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """A regress stage by the provenance rules: skipped when its run is complete."""
    chips = data_dir / "features" / pipeline.join.name / "chips.zarr"
    run_id = stage_run_id(pipeline.name, "regress", {"chips": file_fingerprint(chips)})
    run_dir = data_dir / "runs" / run_id
    if is_complete(run_dir):
        return StageResult("regress", "skipped", f"{run_id} complete", [str(run_dir)])
    CALLS["regress"] = CALLS.get("regress", 0) + 1
    reg = run_dir / "regressor" / "spectm-frozen_current"
    reg.mkdir(parents=True, exist_ok=True)
    (reg / "regressor.json").write_text("{}")
    (run_dir / "metrics.md").write_text("| model | R² |\n")
    mark_complete(run_dir, {"stage": "regress"})
    return StageResult("regress", "done", run_id, [str(run_dir)])


def fake_evaluate(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    """An evaluate stage by the provenance rules, writing report.md into its run directory."""
    run_dir = data_dir / "runs" / stage_run_id(pipeline.name, "evaluate", {})
    if is_complete(run_dir):
        return StageResult("evaluate", "skipped", "complete", [str(run_dir)])
    CALLS["evaluate"] = CALLS.get("evaluate", 0) + 1
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report.md").write_text("# report\n")
    mark_complete(run_dir, {"stage": "evaluate"})
    return StageResult("evaluate", "done", "report", [str(run_dir)])


@pytest.fixture
def chain(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pipeline file [join, regress, evaluate, predict] over a tiny cube with samples on it."""
    r = base_rrs(6)
    write_cube(data_dir, CubeSpec(days=[f"2024-08-0{d}" for d in range(1, 7)], rrs=r), region="bbox")
    write_samples(
        data_dir,
        [
            {"station": f"S{i}", "date": f"2024-08-0{1 + i % 6}", "cell": (2 + i % 8, 2 + (3 * i) % 8)}
            for i in range(12)
        ],
    )
    CALLS.clear()
    monkeypatch.setitem(STAGES, "regress", f"{__name__}:fake_regress")
    monkeypatch.setitem(STAGES, "evaluate", f"{__name__}:fake_evaluate")
    reg = RatioRegressor()
    monkeypatch.setattr("spectm.predict.maps.load", lambda path: reg)
    pf = tmp_path / "chain.yaml"
    pf.write_text(
        yaml.safe_dump(
            {
                "name": "chain",
                "region": BBOX,
                "dates": "2024-08-01:2024-08-06",
                "stages": ["join", "regress", "evaluate", "predict"],
                "join": {"chip_size": 4, "unlabeled_per_date": 2, "block_days": 2, "buffer_days": 0, "buffer_km": 0},
                "predict": {"dates": "2024-08-03:2024-08-05", "quicklooks": False},
                # 4×4 chips are one patch: the ablation's spatial cells (laprade, sigmae) are refused on them
                "evaluate": {"ablation": {"masking": ["spectral-targeted", "random"]}},
            }
        )
    )
    return pf


def _statuses(results: list[StageResult]) -> dict[str, str]:
    return {r.stage: r.status for r in results}


def _raise_once(monkeypatch: pytest.MonkeyPatch, module: str) -> dict[str, int]:
    """Make ``module.run_stage`` raise on its first call only (a crash mid-pipeline)."""
    from importlib import import_module

    mod = import_module(module)
    real = mod.run_stage
    state = {"calls": 0}

    def flaky(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
        state["calls"] += 1
        if state["calls"] == 1:
            raise StageError("simulated crash", "nothing to fix: the test crashes once")
        return real(pipeline, data_dir, force=force)

    monkeypatch.setattr(mod, "run_stage", flaky)
    return state


def test_failed_stage_resumes_without_redoing_completed_ones(
    chain: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    flaky = _raise_once(monkeypatch, "spectm.predict.stage")
    p = load_pipeline(chain)
    with pytest.raises(StageError, match="simulated crash"):
        run_pipeline(p, data_dir, pipeline_file=chain)
    out = capsys.readouterr()
    assert "failed" in out.out and "simulated crash" in out.out
    assert "spectm run" in out.err and "resumes" in out.err
    manifest_before = (data_dir / "features" / "default" / "manifest.json").read_text()
    assert CALLS == {"regress": 1, "evaluate": 1} and not (data_dir / "maps" / "chain.zarr").exists()

    second = run_pipeline(load_pipeline(chain), data_dir, pipeline_file=chain)
    assert _statuses(second) == {"join": "skipped", "regress": "skipped", "evaluate": "skipped", "predict": "done"}
    assert CALLS == {"regress": 1, "evaluate": 1} and flaky["calls"] == 2
    assert (data_dir / "features" / "default" / "manifest.json").read_text() == manifest_before
    out = capsys.readouterr().out
    assert "microcystin maps" in out and str(data_dir / "maps" / "chain.zarr") in out
    assert "evaluation report" in out and "report.md" in out

    third = run_pipeline(load_pipeline(chain), data_dir)
    assert _statuses(third) == dict.fromkeys(["join", "regress", "evaluate", "predict"], "skipped")
    assert sum(r.seconds for r in third) < 10


def test_failure_mid_chain_leaves_later_stages_not_run(
    chain: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _raise_once(monkeypatch, "spectm.join.stage")
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(data_dir), "run", str(chain)])
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "not run" in out and CALLS == {}
    main_ok = run_pipeline(load_pipeline(chain), data_dir)
    assert _statuses(main_ok) == dict.fromkeys(["join", "regress", "evaluate", "predict"], "done")
    assert xr.open_zarr(data_dir / "maps" / "chain.zarr", consolidated=False).sizes["time"] == 3


def test_regress_run_change_remakes_the_maps(chain: Path, data_dir: Path) -> None:
    first = run_pipeline(load_pipeline(chain), data_dir)
    assert _statuses(first)["predict"] == "done"
    # a new complete regress run (another configuration) is picked up and the maps are remade
    other = data_dir / "runs" / "chain-regress-zzzz" / "regressor" / "spectm-frozen_current"
    other.mkdir(parents=True)
    (other / "regressor.json").write_text('{"other": 1}')
    mark_complete(other.parents[1], {"stage": "regress"})
    again = run_pipeline(load_pipeline(chain), data_dir)
    assert _statuses(again)["predict"] == "done"


ORDER = ["fetch", "twin", "samples", "cube", "join", "pretrain", "regress", "evaluate", "predict"]


@pytest.mark.parametrize("name", ["demo.yaml", "lake_erie_2024.yaml"])
def test_shipped_pipelines_run_the_whole_chain_in_data_order(name: str) -> None:
    from spectm.pipeline import resolve_stage

    p = load_pipeline(Path(__file__).resolve().parents[1] / "pipelines" / name)
    assert p.stages[-4:] == ["pretrain", "regress", "evaluate", "predict"]
    assert p.stages == sorted(p.stages, key=ORDER.index)  # every stage after the ones it reads
    assert all(callable(resolve_stage(s)) for s in p.stages)
    assert p.pretrain.features == p.regress.features == p.join.name  # one feature store through the chain
    assert p.join.chip_size % p.pretrain.model.patch_size == 0


def test_relative_data_dir_runs_twin_then_cube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` passes ``--data-dir spectm-data``: the twin's catalog must still resolve for the cube."""
    monkeypatch.chdir(tmp_path)
    pf = tmp_path / "mini.yaml"
    pf.write_text(
        yaml.safe_dump(
            {
                "name": "mini",
                "region": "-83.3,41.7,-83.2,41.8",
                "dates": "2024-08-05",
                "mode": "twin",
                "stages": ["twin", "cube"],
                "cube": {"sensors": ["pace"], "scheduler": "synchronous"},
            }
        )
    )
    results = run_pipeline(load_pipeline(pf), Path("spectm-data"))
    assert _statuses(results) == {"twin": "done", "cube": "done"}
    ds = xr.open_zarr(tmp_path / "spectm-data" / "cubes" / "bbox_pace.zarr", consolidated=False)
    assert int(ds["slice_complete"].sum()) == 1


def test_run_force_replaces_a_feature_store_of_other_parameters(
    chain: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Changed join parameters: ``spectm run`` refuses and names the folder; ``--force`` replaces it."""

    def run(*extra: str) -> int:
        try:
            main(["--data-dir", str(data_dir), "run", str(chain), *extra])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    assert run() == 0
    cfg = yaml.safe_load(chain.read_text())
    cfg["join"]["chip_size"] = 6
    chain.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert run() == 2
    err = capsys.readouterr().err
    assert "--force" in err and str(data_dir / "features" / "default") in err.replace("\n", "")
    assert run("--force") == 0
    import json

    manifest = json.loads((data_dir / "features" / "default" / "manifest.json").read_text())
    assert manifest["params"]["chip_size"] == 6
