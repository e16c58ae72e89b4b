"""The protocol runner: which fits, resume after a crash, skip when complete, rebuild equals run time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spectm.config import EvaluateSection, Pipeline
from spectm.contract import StageResult
from spectm.errors import ConfigError, DataNotFoundError
from spectm.evaluate.protocol import combinations, run_protocol
from spectm.evaluate.run import EvaluateResult, evaluate_run
from spectm.evaluate.variants import Variant, variant_run_id, variant_section, variants
from tests.evaluate.fakes import FakeFit, make_data_dir, make_encoder


def _pipeline(**evaluate: object) -> Pipeline:
    return Pipeline.model_validate({"name": "demo", "region": "lake_erie", "dates": "2024-06", "evaluate": evaluate})


def test_default_grid() -> None:
    combos = combinations(EvaluateSection())
    by = pd.Series([c.experiment for c in combos]).value_counts().to_dict()
    # main: 6 models + climatology + 4 ceilings + 4 chlorophyll ceilings; ablation: 4 maskings × 2 task
    # sets × 3 encoder seeds, 1 model
    assert by == {"main": 15 * 2 * 3, "label_efficiency": 6 * 4 * 2 * 3, "ablation": 24 * 1 * 2 * 3}
    assert len({c.key for c in combos}) == len(combos)
    # the 100 % point of the curves is the main fit, not fitted twice
    assert not any(c.experiment == "label_efficiency" and c.fraction == 1.0 for c in combos)
    le_only = combinations(EvaluateSection(experiments=["label_efficiency"], models=["ridge"], seeds=[0]))
    assert sorted({c.fraction for c in le_only}) == [0.05, 0.1, 0.25, 0.5, 1.0]


def test_section_validation() -> None:
    with pytest.raises(ConfigError):
        from spectm.config import validate_model

        validate_model(
            Pipeline,
            {"name": "d", "region": "r", "dates": "2024-06", "evaluate": {"ablation": {"masking": ["targeted"]}}},
            "p.yaml",
        )
    with pytest.raises(ValueError, match="label fractions"):
        EvaluateSection(label_fractions=[0.0, 0.5])
    with pytest.raises(ValueError, match="tasks"):
        EvaluateSection.model_validate({"ablation": {"tasks": ["rec+rec"]}})
    assert EvaluateSection(label_fractions=[1.0, 0.1, 0.1]).label_fractions == [0.1, 1.0]


def test_variant_sections(tmp_path: Path) -> None:
    p = _pipeline(
        ablation={
            "masking": ["spectral-targeted", "random+spectral-targeted"],
            "tasks": ["fut+rec", "rec"],
            "max_steps": 7,
        }
    )
    p.pretrain.loss.future = 0.0  # a task in the cell keeps its weight, or the default when it was 0
    vs = variants(p.evaluate.ablation)
    assert vs[0] == Variant("spectral-targeted", "rec+fut")  # canonical task order
    s = variant_section(p.pretrain, vs[0], p.evaluate.ablation)
    assert (s.loss.reconstruction, s.loss.indices, s.loss.future) == (1.0, 0.0, 0.5)
    assert s.max_steps == 7 and s.masking.strategies == ["spectral-targeted"]
    s2 = variant_section(p.pretrain, vs[3], p.evaluate.ablation)
    assert s2.masking.strategies == ["random", "spectral-targeted"] and s2.loss.future == 0.0
    assert s.masking.random.ratio == 0.75  # a cell without random masking keeps the pipeline's setting
    # a random cell hides as many tokens as the targeted mask (one ratio for every cell) unless told otherwise
    assert s2.masking.random.ratio == "match_targeted"
    p.evaluate.ablation.random_ratio = 0.5
    assert variant_section(p.pretrain, vs[3], p.evaluate.ablation).masking.random.ratio == 0.5
    p.evaluate.ablation.random_ratio = "match_targeted"
    assert p.pretrain.max_steps is None  # the pipeline's own section is untouched
    chips = tmp_path / "features" / "default" / "chips.zarr"
    chips.mkdir(parents=True)
    (chips / "zarr.json").write_text("{}")
    ids = [variant_run_id(p, variant_section(p.pretrain, v, p.evaluate.ablation), tmp_path) for v in vs]
    assert len(vs) == 12  # 2 maskings × 2 task sets × 3 encoder seeds (default)
    assert len(set(ids)) == 12 and all(i.startswith("demo-ablation-") for i in ids)
    assert ids[0] == variant_run_id(p, variant_section(p.pretrain, vs[0], p.evaluate.ablation), tmp_path)


def test_interrupted_protocol_resumes_where_it_stopped(tmp_path: Path) -> None:
    ev = EvaluateSection(
        models=["ridge", "svr"],
        seeds=[0, 1],
        label_fractions=[0.5, 1.0],
        experiments=["main", "label_efficiency"],
        references=[],
    )
    combos = combinations(ev)
    assert len(combos) == 16
    crash = FakeFit(fail_after=5)
    with pytest.raises(RuntimeError, match="simulated"):
        run_protocol(
            tmp_path, combos, data_dir=tmp_path, features="default", encoder=None, params=None, fit_predict=crash
        )
    assert len(list((tmp_path / "parts").glob("*.parquet"))) == 5
    again = FakeFit()
    res = run_protocol(
        tmp_path, combos, data_dir=tmp_path, features="default", encoder=None, params=None, fit_predict=again
    )
    assert (res.fitted, res.reused) == (11, 5)
    done = {(c["model"], c["horizon"], c["seed"], c["fraction"]) for c in crash.calls}
    redone = {(c["model"], c["horizon"], c["seed"], c["fraction"]) for c in again.calls}
    assert not done & redone
    pred = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(pred) == 16 * 9
    assert pred.groupby("experiment").size().to_dict() == {"main": 8 * 9, "label_efficiency": 8 * 9}


def test_stage_runs_skips_and_rebuilds_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data_dir(tmp_path)
    enc = make_encoder(data)
    fake = FakeFit()
    calls = []

    def fake_variant(pipeline: Pipeline, v: Variant, data_dir: Path) -> tuple[Path, bool]:
        calls.append(v)
        return make_encoder(data_dir, f"demo-ablation-{v.slug}", v.strategies, v.tasks), False

    monkeypatch.setattr("spectm.evaluate.protocol._default_fit_predict", lambda: fake)
    monkeypatch.setattr("spectm.evaluate.run.ensure_variant", fake_variant)
    p = _pipeline(
        models=["spectm-frozen", "ridge", "svr"],
        seeds=[0, 1],
        label_fractions=[0.1, 0.5, 1.0],
        bootstrap=200,
        ablation={"masking": ["spectral-targeted", "random"], "encoder_seeds": [0, 1]},
    )
    monkeypatch.setattr("spectm.evaluate.run.variant_run_id", lambda pipe, sec, dd: "demo-ablation-x")
    from spectm.pipeline import resolve_stage

    stage = resolve_stage("evaluate")(p, data)  # what `spectm run` calls
    assert stage.status == "done" and "best: current" in stage.summary
    res = evaluate_run(p, data_dir=data)
    assert res.status == "skipped" and str(res.run_dir) == stage.outputs[0]
    # the one stage contract: the entry point's result is the stage's, done then skipped
    for r, want in ((stage, "done"), (res, "skipped")):
        assert isinstance(r, EvaluateResult) and isinstance(r, StageResult) and r.stage == "evaluate"
        assert r.status == want and r.summary.startswith(res.run_dir.name) and r.outputs == [str(res.run_dir)]
        assert set(r.counts) == {"fitted", "reused"} and all(isinstance(v, int) for v in r.counts.values())
    assert stage.counts["fitted"] > 0 and res.summary == f"{res.run_dir.name} complete"
    assert res.run_dir.name.startswith("demo-evaluate-")
    assert len(calls) == 8  # one pretraining per variant (2 maskings × 2 task sets × 2 seeds), not per fit
    assert {c["encoder"] for c in fake.calls if c["model"] == "spectm-frozen"} >= {enc}
    for name in (
        "report.md",
        "predictions.parquet",
        "complete.json",
        "evaluate.json",
        "tables/main.md",
        "tables/advisory.md",
        "tables/paired.md",
        "tables/ablation.md",
        "tables/masking_gain.md",
        "tables/label_efficiency.md",
        "tables/efficiency.md",
        "figures/label_efficiency.png",
        "figures/ablation.png",
        "figures/scatter_current.png",
        "figures/scatter_ahead.png",
    ):
        assert (res.run_dir / name).exists(), name
    assert (res.run_dir / "figures/scatter_current.png").read_bytes()[:4] == b"\x89PNG"
    pred = pd.read_parquet(res.run_dir / "predictions.parquet")
    abl = pred[pred["experiment"] == "ablation"]
    assert set(zip(abl["masking"], abl["tasks"], strict=True)) == {
        ("spectral-targeted", "rec"),
        ("random", "rec"),
        ("spectral-targeted", "rec+idx+fut"),
        ("random", "rec+idx+fut"),
    }
    assert sorted(abl["encoder_seed"].unique()) == [0, 1]
    gain = pd.read_csv(res.run_dir / "tables" / "masking_gain.csv")
    assert (gain["pairs"] == 4).all() and gain["gain_ci_lo"].notna().all()  # 2 encoders × 2 head seeds
    main_t = pd.read_csv(res.run_dir / "tables" / "main.csv")
    assert {"climatology", "ceiling-ridge", "ceiling-chl-svr"} <= set(main_t["model"])
    n_calls = len(fake.calls)
    again = resolve_stage("evaluate")(p, data)  # same run id: skipped, nothing refitted
    assert again.status == "skipped" and len(fake.calls) == n_calls

    # the report rebuilt from the stored parquet alone equals the one written at run time
    from spectm.cli import main

    out = tmp_path / "rebuilt"
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "report", str(res.run_dir), "--out", str(out)])
    assert exc.value.code == 0
    for t in ("main", "advisory", "paired", "ablation", "masking_gain", "label_efficiency", "efficiency"):
        assert (out / "tables" / f"{t}.md").read_text() == (res.run_dir / "tables" / f"{t}.md").read_text()
        assert (out / "tables" / f"{t}.csv").read_text() == (res.run_dir / "tables" / f"{t}.csv").read_text()
    assert (out / "report.md").read_text().split("\n", 1)[1] == (res.run_dir / "report.md").read_text().split("\n", 1)[
        1
    ]


def test_missing_inputs_are_clear_errors(tmp_path: Path) -> None:
    p = _pipeline(models=["ridge"], experiments=["main"])
    with pytest.raises(DataNotFoundError, match="join"):
        evaluate_run(p, data_dir=tmp_path)
    make_data_dir(tmp_path)
    with pytest.raises(DataNotFoundError, match="pretrain"):
        evaluate_run(_pipeline(models=["spectm-frozen"], experiments=["main"]), data_dir=tmp_path)


def test_a_variant_encoder_with_other_labels_is_refused(tmp_path: Path) -> None:
    from spectm.errors import StageError
    from spectm.evaluate.protocol import Combo

    wrong = make_encoder(tmp_path, "demo-ablation-x", "random", "rec")
    combo = Combo("ablation", "spectm-frozen", "current", 0, 1.0, Variant("spectral-targeted", "rec"))
    with pytest.raises(StageError, match="expected"):
        run_protocol(
            tmp_path,
            [combo],
            data_dir=tmp_path,
            features="default",
            encoder=None,
            params=None,
            variant_encoder=lambda v: wrong,
            fit_predict=FakeFit(),
        )
    assert not list((tmp_path / "parts").glob("*.parquet"))


def test_cli_dry_run_and_bad_report_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spectm.cli import main

    data = make_data_dir(tmp_path / "data")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        "name: demo\nregion: lake_erie\ndates: 2024-06\n"
        "evaluate: {models: [ridge, svr], seeds: [0, 1], experiments: [main, label_efficiency]}\n"
    )
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(data), "evaluate", "run", "--config", str(cfg), "--dry-run"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    # main: (2 models + climatology + 2 ceilings + 2 chlorophyll ceilings) × 2 horizons × 2 seeds = 28;
    # label efficiency: 2 models × 4 fractions × 2 × 2 = 32
    assert "demo-evaluate-" in out and "60 fits" in out
    assert not (data / "runs").exists()  # a dry run writes nothing
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "report", str(empty)])
    assert exc.value.code == 2
    assert "predictions" in capsys.readouterr().err


def test_leave_one_season_out_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data_dir(tmp_path, seasons=(2022, 2023, 2024))
    fake = FakeFit()
    monkeypatch.setattr("spectm.evaluate.protocol._default_fit_predict", lambda: fake)
    p = _pipeline(
        models=["ridge"],
        references=["climatology"],
        seeds=[0],
        horizons=["current"],
        experiments=["main"],
        cv="seasons",
        bootstrap=50,
    )
    res = evaluate_run(p, data_dir=data)
    assert res.fitted == 2 * 3  # ridge and climatology, once per held-out season
    assert sorted({c["cv_season"] for c in fake.calls}) == [2022, 2023, 2024]
    pred = pd.read_parquet(res.run_dir / "predictions.parquet")
    test = pred[pred["split"] == "test"]
    assert sorted(test["fold"].unique()) == ["2022", "2023", "2024"]
    # every test row of a fold is from the season that fold held out
    assert (pd.to_datetime(test["date"]).dt.year.astype(str) == test["fold"]).all()
    assert "leave-one-season-out: 3 folds" in (res.run_dir / "report.md").read_text()
    main_t = pd.read_csv(res.run_dir / "tables" / "main.csv").set_index("model")
    assert main_t.loc["ridge", "n"] == 3 * 6  # the folds' test rows pooled


def test_cv_seasons_needs_three_seasons_and_the_cli_sets_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spectm.cli import main

    two = make_data_dir(tmp_path / "two", seasons=(2023, 2024))
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        "name: demo\nregion: lake_erie\ndates: 2024-06\n"
        "evaluate: {models: [ridge], references: [], seeds: [0], experiments: [main]}\n"
    )
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(two), "evaluate", "run", "--config", str(cfg), "--cv", "seasons", "--dry-run"])
    assert exc.value.code == 2 and "≥ 3 labelled seasons" in capsys.readouterr().err
    three = make_data_dir(tmp_path / "three", seasons=(2022, 2023, 2024))
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(three), "evaluate", "run", "--config", str(cfg), "--cv", "seasons", "--dry-run"])
    assert exc.value.code == 0 and "6 fits" in capsys.readouterr().out  # 2 horizons × 3 folds
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(three), "evaluate", "run", "--config", str(cfg), "--cv", "weeks", "--dry-run"])
    assert exc.value.code == 2


def test_ablation_names_map_onto_the_pretraining_strategies(tmp_path: Path) -> None:
    p = _pipeline(ablation={"masking": ["laprade", "sigmae"], "tasks": ["rec"], "encoder_seeds": [0, 5]})
    vs = variants(p.evaluate.ablation)
    assert [(v.masking, v.seed) for v in vs] == [("laprade", 0), ("sigmae", 0), ("laprade", 5), ("sigmae", 5)]
    s = variant_section(p.pretrain, vs[2], p.evaluate.ablation)
    assert s.masking.strategies == ["spatial-spectral"] and s.seed == 5
    assert variant_section(p.pretrain, vs[1], p.evaluate.ablation).masking.strategies == ["index-guided"]
    assert vs[2].slug == "laprade_rec_e5" and vs[0].slug == "laprade_rec"
    with pytest.raises(ValueError, match="encoder_seeds"):
        EvaluateSection.model_validate({"ablation": {"encoder_seeds": [1, 1]}})
