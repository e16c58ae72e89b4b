"""The whole protocol with the real fit_predict and real (tiny) pretraining variants."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from spectm.config import Pipeline
from spectm.evaluate.run import evaluate_run
from spectm.evaluate.variants import ensure_variant, variants
from tests.regress.helpers import make_store, tiny_pretrain, tiny_pretrain_section

TINY = tiny_pretrain_section(steps=2)


def test_real_fits_and_variants(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    make_store(tmp_path, n=40)
    tiny_pretrain(tmp_path, steps=2, run_id="demo-pretrain-main")
    p = Pipeline.model_validate(
        {
            "name": "demo",
            "region": "lake_erie",
            "dates": "2024-06",
            "pretrain": TINY,
            "regress": {"frozen_steps": 10, "cpu_threads": 1, "weight_decay_grid": [0.01]},
            "evaluate": {
                "models": ["spectm-frozen", "ridge"],
                "seeds": [0, 1],
                "label_fractions": [0.5, 1.0],
                "horizons": ["current"],
                "bootstrap": 50,
                "references": ["climatology", "ceiling"],
                "ablation": {
                    "masking": ["spectral-targeted", "random"],
                    "tasks": ["rec"],
                    "max_steps": 2,
                    "encoder_seeds": [0],
                },
            },
        }
    )
    res = evaluate_run(p, data_dir=tmp_path)
    # main 4 + climatology 2 + label efficiency 4 + ablation 4; the store has no measured pigments:
    # the two ceiling fits are skipped and reported, not dropped silently
    assert res.status == "done" and res.fitted == 4 + 2 + 4 + 4
    info = (res.run_dir / "evaluate.json").read_text()
    assert "main_ceiling-ridge_current_s0_f1" in info and "no in-situ column" in info
    assert "skipped fit `main_ceiling-ridge_current_s1_f1`" in (res.run_dir / "report.md").read_text()
    pred = pd.read_parquet(res.run_dir / "predictions.parquet")
    main = pred[(pred["experiment"] == "main") & (pred["model"] == "spectm-frozen")]
    assert set(main["encoder_run"]) == {"demo-pretrain-main"}
    abl = pred[pred["experiment"] == "ablation"]
    runs = sorted(set(abl["encoder_run"]))
    assert len(runs) == 2 and all(r.startswith("demo-ablation-") for r in runs)
    for r in runs:  # real, complete pretraining runs with the cell's masking and no idx/fut loss
        cfg = (tmp_path / "runs" / r / "config.yaml").read_text()
        assert (tmp_path / "runs" / r / "complete.json").exists() and "indices: 0.0" in cfg
    assert set(abl["masking"]) == {"spectral-targeted", "random"} and set(abl["tasks"]) == {"rec"}
    # the fractions' n_train follow fit_predict's nested subsets
    le = pred[(pred["experiment"] == "label_efficiency") & (pred["split"] == "test")]
    assert (le["n_train"] < main["n_train"].iloc[0]).all()
    assert "| current | spectm-frozen |" in (res.run_dir / "tables" / "main.md").read_text()
    assert "| current | climatology |" in (res.run_dir / "tables" / "main.md").read_text()
    assert "| current | spectm-frozen | climatology |" in (res.run_dir / "tables" / "paired.md").read_text()
    # complete variant runs are reused, never retrained
    for v in variants(p.evaluate.ablation):
        path, reused = ensure_variant(p, v, tmp_path)
        assert reused and path.name in runs


def test_leave_one_season_out_with_real_fits_and_reference_rows(tmp_path: Path) -> None:
    make_store(tmp_path, n=96, seasons=4, insitu=True)  # 2021-2024, measured pigments
    p = Pipeline.model_validate(
        {
            "name": "seasons",
            "region": "lake_erie",
            "dates": "2021-06:2024-10",
            "evaluate": {
                "models": ["ridge"],
                "seeds": [0],
                "horizons": ["current"],
                "experiments": ["main"],
                "cv": "seasons",
                "bootstrap": 100,
            },
        }
    )
    res = evaluate_run(p, data_dir=tmp_path)
    assert res.fitted == 4 * 4  # ridge, climatology, ceiling-ridge, ceiling-chl-ridge × 4 folds
    pred = pd.read_parquet(res.run_dir / "predictions.parquet")
    test = pred[pred["split"] == "test"]
    # every labelled match-up is predicted exactly once per model, by the fold that held its season out
    table = pd.read_parquet(tmp_path / "features" / "default" / "matchups.parquet")
    n_current = int((table["horizon"] == "current").sum())
    assert (test.groupby("model")["sample_id"].nunique() == n_current).all()
    assert (test.groupby("model").size() == n_current).all()
    assert (pd.to_datetime(test["date"]).dt.year.astype(str) == test["fold"]).all()
    main = pd.read_csv(res.run_dir / "tables" / "main.csv").set_index("model")
    assert list(main.index) == ["ceiling-ridge", "ceiling-chl-ridge", "ridge", "climatology"]
    assert main.loc["ceiling-ridge", "r2_mean"] > main.loc["climatology", "r2_mean"]
    paired = pd.read_csv(res.run_dir / "tables" / "paired.csv")
    assert paired[["model", "reference"]].values.tolist() == [["ridge", "climatology"]]
    assert paired["ci_lo"].iloc[0] <= paired["diff"].iloc[0] <= paired["ci_hi"].iloc[0]
    assert {"bacc_1.6_mean", "auc_6_mean"} <= set(pd.read_csv(res.run_dir / "tables" / "advisory.csv").columns)


def test_main_fits_of_a_complete_regress_run_are_taken_over_and_equal_a_refit(tmp_path: Path) -> None:
    import json
    import shutil

    from spectm.regress.run import regress_run

    torch.set_num_threads(1)
    make_store(tmp_path, n=40)
    tiny_pretrain(tmp_path, steps=2, run_id="demo-pretrain-main")
    p = Pipeline.model_validate(
        {
            "name": "demo",
            "region": "lake_erie",
            "dates": "2024-06",
            "regress": {
                "frozen_steps": 10,
                "cpu_threads": 1,
                "weight_decay_grid": [0.01],
                "models": ["spectm-frozen", "ridge"],
                "horizons": ["current"],
            },
            "evaluate": {
                "models": ["spectm-frozen", "ridge"],
                "seeds": [0, 1],
                "horizons": ["current"],
                "experiments": ["main"],
                "references": [],
                "bootstrap": 20,
            },
        }
    )
    fresh = evaluate_run(p, data_dir=tmp_path)  # no regress run yet: every fit made here
    assert fresh.fitted == 4
    expected = pd.read_parquet(fresh.run_dir / "predictions.parquet")
    shutil.rmtree(fresh.run_dir)
    regress_run(p.regress, data_dir=tmp_path, pipeline_name=p.name)
    again = evaluate_run(p, data_dir=tmp_path)
    assert again.fitted == 2 and again.reused == 2  # seed 0 of both models came from the regress run
    got = pd.read_parquet(again.run_dir / "predictions.parquet")
    pd.testing.assert_frame_equal(got, expected)
    meta = json.loads((again.run_dir / "parts" / "main_spectm-frozen_current_s0_f1.json").read_text())
    assert meta["reused_from"].startswith("demo-regress-")
