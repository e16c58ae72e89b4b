"""``spectm train regress`` and the ``regress`` stage: run dir, skip when complete, resume, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spectm.cli import main
from spectm.config import load_pipeline
from spectm.contract import StageResult
from spectm.regress import PREDICTION_COLUMNS, load_regressor
from spectm.regress.stage import run_stage

REGRESS = {
    "models": ["spectm-frozen", "ridge"],
    "horizons": ["current", "ahead"],
    "encoder": "enc",
    "frozen_steps": 60,
    "weight_decay_grid": [0.01],
}


def _pipeline(tmp_path: Path, **regress: object) -> Path:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "region": "lake_erie",
                "dates": "2024-06",
                "stages": ["regress"],
                "regress": {**REGRESS, **regress},
            }
        )
    )
    return cfg


def _copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "features", dst / "features")
    shutil.copytree(src / "runs" / "enc", dst / "runs" / "enc")
    return dst


def test_cli_writes_the_run_dir_then_the_stage_skips_it(
    tmp_path: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _copy_store(store_dir, tmp_path / "data")
    cfg = _pipeline(tmp_path)
    with pytest.raises(SystemExit) as ex:
        main(["--data-dir", str(data), "train", "regress", "--config", str(cfg)])
    assert ex.value.code in (0, None), capsys.readouterr()
    runs = [d for d in (data / "runs").iterdir() if d.name.startswith("t-regress-")]
    assert len(runs) == 1
    run = runs[0]
    for name in ("predictions.parquet", "metrics.md", "metrics.csv", "config.yaml", "complete.json"):
        assert (run / name).exists(), name
    pred = pd.read_parquet(run / "predictions.parquet")
    assert list(pred.columns) == PREDICTION_COLUMNS
    assert set(zip(pred["model"], pred["horizon"], strict=True)) == {
        (m, h) for m in ("spectm-frozen", "ridge") for h in ("current", "ahead")
    }
    md = (run / "metrics.md").read_text()
    assert "| current | spectm-frozen |" in md and "| ahead | ridge |" in md
    assert sorted(p.name for p in (run / "regressor").iterdir()) == ["spectm-frozen_ahead", "spectm-frozen_current"]
    assert load_regressor(run / "regressor" / "spectm-frozen_ahead").lead_days == 8
    res = run_stage(load_pipeline(cfg), data)
    assert res.status == "skipped" and res.outputs == [str(run)]


def test_interrupted_run_resumes_with_the_missing_fits(tmp_path: Path, store_dir: Path) -> None:
    from spectm.regress.run import regress_run

    data = _copy_store(store_dir, tmp_path / "data")
    cfg = load_pipeline(_pipeline(tmp_path, models=["ridge", "svr"], horizons=["current"]))
    first = regress_run(cfg.regress, data_dir=data, pipeline_name="t")
    assert first.fitted == 2
    (first.run_dir / "complete.json").unlink()  # as if killed after the fits, before completing
    (first.run_dir / "parts" / "svr_current.parquet").unlink()  # ... and during the second fit
    again = regress_run(cfg.regress, data_dir=data, pipeline_name="t")
    assert again.run_dir == first.run_dir and (again.fitted, again.reused) == (1, 1)
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    # the one stage contract: done (fitted, or resumed) then skipped, a summary line, flat counts
    done = regress_run(cfg.regress, data_dir=data, pipeline_name="t")
    for r, want in ((first, "done"), (again, "done"), (done, "skipped")):
        assert isinstance(r, StageResult) and r.stage == "regress" and r.status == want
        assert r.outputs == [str(first.run_dir)] and r.summary.startswith(first.run_dir.name)
        assert r.counts == {"fitted": r.fitted, "reused": r.reused, "notes": 0}
    assert "current: best " in again.summary and done.summary == f"{first.run_dir.name} complete"


@pytest.mark.parametrize(
    ("regress", "setup", "message"),
    [
        ({}, False, "no feature store 'default'"),
        ({"models": ["lasso"]}, True, "regress.models"),
        ({"encoder": "nope"}, True, "encoder 'nope'"),
    ],
)
def test_cli_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, store_dir: Path, capsys: pytest.CaptureFixture[str], regress: dict, setup: bool, message: str
) -> None:
    data = _copy_store(store_dir, tmp_path / "data") if setup else tmp_path / "empty"
    data.mkdir(exist_ok=True)
    cfg = _pipeline(tmp_path, **regress)
    with pytest.raises(SystemExit) as ex:
        main(["--data-dir", str(data), "train", "regress", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert ex.value.code == 2 and message in err and "remedy" in err and "Traceback" not in err


def test_split_with_rows_but_no_chips_skips_the_spectm_model_not_the_run(
    tmp_path: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A small lake / short season: 'current' train rows have no chip and 'ahead' val rows have
    none either. The spectm model is skipped for 'current' with the reason, ridge is still fitted
    (on all match-ups, said so), and 'ahead' fits with an empty val split instead of crashing."""
    data = _copy_store(store_dir, tmp_path / "data")
    table = data / "features" / "default" / "matchups.parquet"
    df = pd.read_parquet(table)
    no_chip = ((df["horizon"] == "current") & (df["split"] == "train")) | (
        (df["horizon"] == "ahead") & (df["split"] == "val")
    )
    assert no_chip.sum() > 0 and (df.loc[df["horizon"] == "ahead", "split"] == "val").any()
    df.loc[no_chip, "chip_index"] = -1
    df.to_parquet(table, index=False)
    cfg = _pipeline(tmp_path)
    with pytest.raises(SystemExit) as ex:
        main(["--data-dir", str(data), "train", "regress", "--config", str(cfg)])
    out = capsys.readouterr()
    assert ex.value.code in (0, None), out.err
    assert "Traceback" not in out.err
    n_train = int(((df["horizon"] == "current") & (df["split"] == "train")).sum())
    assert (
        f"spectm-frozen_current: not fitted: the 'current' train split has {n_train} match-ups but 0 with a chip"
        in out.out
    )
    assert "ridge_current: the 'current' train split" in out.out and "fitted on all match-ups" in out.out
    run = next((data / "runs").glob("t-regress-*"))
    pred = pd.read_parquet(run / "predictions.parquet")
    fitted = set(zip(pred["model"], pred["horizon"], strict=True))
    assert fitted == {("ridge", "current"), ("ridge", "ahead"), ("spectm-frozen", "ahead")}
    assert "## Skipped or fitted differently" in (run / "metrics.md").read_text()
    # the pipeline stage says it in its one-line summary too (the run is complete: skipped)
    res = run_stage(load_pipeline(cfg), data)
    assert res.status == "skipped" and "spectm-frozen_current: not fitted" in res.summary


def test_window_masks_of_an_empty_split() -> None:
    import numpy as np

    from spectm.regress.head import window_masks

    m = window_masks(np.zeros((0, 8, 8), bool), np.zeros(0, int), np.zeros(0, int), 3)
    assert m.shape == (0, 8, 8)
