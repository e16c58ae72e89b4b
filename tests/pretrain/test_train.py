"""Trainer guarantees: exact resume after a kill, DDP == one process, safe checkpoints, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from spectm.cli import app
from spectm.config import load_pipeline
from spectm.errors import BadInputError, ConfigError
from spectm.pretrain.checkpoint import load_checkpoint, load_safetensors
from spectm.pretrain.run import pretrain_run
from spectm.pretrain.train import FAULT_ENV, Pretrainer

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}
    env.pop("SPECTM_DATA", None)
    return env


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]


def test_resume_after_kill_matches_uninterrupted_run(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    data_dir = chips_store.parents[2]
    cfg = tiny_cfg(max_steps=6, checkpoint_every=2, val_every=3)
    ref = pretrain_run(cfg, data_dir=data_dir, run_id="ref", device="cpu")
    assert ref.steps == 6

    script = textwrap.dedent(f"""
        from pathlib import Path
        from spectm.config import PretrainSection
        from spectm.pretrain.run import pretrain_run
        cfg = PretrainSection.model_validate_json({cfg.model_dump_json()!r})
        pretrain_run(cfg, data_dir=Path({str(data_dir)!r}), run_id="killed", device="cpu")
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=_env(**{FAULT_ENV: "4"}), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -9, proc.stderr[-2000:]  # SIGKILLed right after the step-4 checkpoint
    killed = data_dir / "runs" / "killed"
    assert load_checkpoint(killed / "checkpoints" / "last.pt")["step"] == 4
    assert not (killed / "report.md").exists()

    res = pretrain_run(cfg, data_dir=data_dir, resume="killed", device="cpu")
    assert res.steps == 6
    a, b = _weights(ref.run_dir), _weights(killed)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows = (killed / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [
        r.split(",")[0] for r in (ref.run_dir / "metrics.csv").read_text().splitlines()[1:]
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_match_one_process(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    cfg = tiny_cfg(
        max_steps=3,
        checkpoint_every=3,
        val_every=0,
        log_every=1,
        masking={"strategies": ["spectral-targeted", "index-guided"], "index_guided": {"curriculum_steps": 2}},
    )
    single = Pretrainer(cfg, chips_store, tmp_path / "single", device="cpu")
    single.fit()

    out = tmp_path / "ddp.pt"
    script = tmp_path / "ddp_run.py"
    script.write_text(
        textwrap.dedent(f"""
        from pathlib import Path
        import torch
        from spectm.config import PretrainSection
        from spectm.pretrain.train import Pretrainer
        cfg = PretrainSection.model_validate_json({cfg.model_dump_json()!r})
        tr = Pretrainer(cfg, Path({str(chips_store)!r}), Path({str(tmp_path / "ddp")!r}), device="cpu")
        assert tr.world == 2 and tr.local_bs == 2
        tr.fit()
        if tr.rank == 0:
            torch.save(tr.model.state_dict(), {str(out)!r})
        tr.cleanup()
    """)
    )
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--nnodes",
        "1",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(script),
    ]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = torch.load(out, weights_only=True)
    ref = single.model.state_dict()
    init = Pretrainer(cfg, chips_store, tmp_path / "init", device="cpu").model.state_dict()
    for k, v in ref.items():
        a, b = ddp[k], v
        if k.endswith("in_proj_bias"):
            # The key bias has an exactly-zero true gradient (softmax is shift-invariant), so
            # Adam turns float noise into steps; compare the query and value biases only.
            d = v.numel() // 3
            a, b = torch.cat([a[:d], a[2 * d :]]), torch.cat([b[:d], b[2 * d :]])
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)
    assert any(not torch.equal(init[k], ref[k]) for k in ref)  # training moved the weights


def test_pipeline_stage_trains_once_then_skips(chips_store: Path, tiny_cfg) -> None:
    """The stage's deterministic run: a directory without a checkpoint is started over, the
    trained run is ``done``, the same call again is ``skipped``; both are the one StageResult."""
    from spectm.config import Pipeline
    from spectm.contract import StageResult
    from spectm.pretrain.run import pretrain_run_id
    from spectm.pretrain.stage import run_stage

    data_dir = chips_store.parents[2]
    pipe = Pipeline(
        name="p", region="lake_erie_western_basin", dates="2024-08", stages=["pretrain"], pretrain=tiny_cfg(max_steps=2)
    )
    run_dir = data_dir / "runs" / pretrain_run_id(pipe.pretrain, data_dir, "p")
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("left by a run killed before its first checkpoint")
    first, again = run_stage(pipe, data_dir), run_stage(pipe, data_dir)
    for r, want in ((first, "done"), (again, "skipped")):
        assert isinstance(r, StageResult) and r.stage == "pretrain" and r.status == want
        assert r.outputs == [str(run_dir)] and r.counts == {"steps": 2} and r.summary.startswith(run_dir.name)
    assert "targeted r" in first.summary and first.report["steps"] == 2 and again.summary.endswith("complete (2 steps)")
    with pytest.raises(BadInputError, match="pipeline="):
        pretrain_run(pipe.pretrain, data_dir=data_dir, run_id="auto")


def test_checkpoints_load_without_pickle(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    res = pretrain_run(tiny_cfg(max_steps=2, val_every=1), data_dir=chips_store.parents[2], run_id="w", device="cpu")
    st = torch.load(res.run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert st["step"] == 2 and st["format"] == "spectm-pretrain-v1"
    _state, stats, meta = load_safetensors(res.run_dir / "model.safetensors")
    assert meta["format"] == "spectm-mae-v1" and stats["band_mean"].shape == (172,)
    for f in (
        "config.yaml",
        "git_commit.txt",
        "metrics.csv",
        "report.md",
        "figures/loss.png",
        "figures/targeted_bands.png",
        "run.json",
    ):
        assert (res.run_dir / f).exists(), f
    report = (res.run_dir / "report.md").read_text()
    assert "cubic-spline" in report and "| 615–640 | 11 |" in report
    assert all(f"| {n} |" in report for n in ("ci", "ss665", "ndci"))  # all three read hidden bands
    # PACE's Rrs ends at 719 nm: 695–720 is extrapolated; 11 + 17 bands are interpolated; each group has its row
    assert "| 695–720 (extrapolated) | 18 |" in report and "| **interpolated windows** | 28 |" in report
    assert "| **extrapolated windows** | 18 |" in report and "PCA r" in report
    summary = json.loads((res.run_dir / "run.json").read_text())["targeted"]
    assert summary["interpolated"]["bands"] == 28 and [w["spline_extrapolates"] for w in summary["per_window"]] == [
        False,
        False,
        True,
    ]
    assert summary["extrapolated"]["bands"] == 18
    assert all(
        np.isfinite(summary[g][f"{m}_rmse"])
        for g in ("interpolated", "extrapolated")
        for m in ("model", "linear", "spline", "pca")
    )
    # the encoder file says which bands it never saw (the 46 targeted) and what regression does with them
    assert sum(meta["unseen_bands"]) == 46 and meta["downstream_bands"] == "visible"


def test_config_typo_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "name": "x",
                "region": "lake_erie",
                "dates": "2024-06",
                "pretrain": {"batch_size": 8, "masking": {"stratgies": ["random"]}},
            }
        )
    )
    with pytest.raises(ConfigError, match=r"unknown key 'pretrain.masking.stratgies'"):
        load_pipeline(p)
    p.write_text(
        yaml.safe_dump(
            {
                "name": "x",
                "region": "lake_erie",
                "dates": "2024-06",
                "pretrain": {"masking": {"strategies": ["blocky"]}},
            }
        )
    )
    with pytest.raises(ConfigError, match="strategies"):
        load_pipeline(p)


def test_cli_synth_chips_then_pretrain(tmp_path: Path, data_dir: Path) -> None:
    runner = CliRunner()
    store = data_dir / "features" / "default" / "chips.zarr"
    r = runner.invoke(app, ["train", "synth-chips", str(store), "--n-chips", "12", "--size", "4"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["train", "synth-chips", str(store), "--n-chips", "12"])
    assert getattr(r.exception, "exit_code", None) == 2 and "--force" in str(r.exception)  # main() maps it to exit 2
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "region": "lake_erie",
                "dates": "2024-06",
                "pretrain": {
                    "batch_size": 4,
                    "max_steps": 2,
                    "num_workers": 0,
                    "cpu_threads": 1,
                    "baseline_max_pixels": 32,
                    "model": {
                        "patch_size": 2,
                        "dim": 16,
                        "depth": 1,
                        "heads": 2,
                        "decoder_dim": 16,
                        "decoder_depth": 1,
                        "decoder_heads": 2,
                    },
                },
            }
        )
    )
    r = runner.invoke(
        app,
        ["--data-dir", str(data_dir), "train", "pretrain", "--config", str(cfg), "--run-id", "cli", "--device", "cpu"],
    )
    assert r.exit_code == 0, r.output
    assert (
        "targeted r spectm / linear / spline / PCA" in r.output and (data_dir / "runs" / "cli" / "report.md").exists()
    )


def test_cli_missing_chips_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml.safe_dump({"name": "t", "region": "lake_erie", "dates": "2024-06"}))
    proc = subprocess.run(
        [sys.executable, "-m", "spectm", "--data-dir", str(tmp_path), "train", "pretrain", "--config", str(cfg)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no chips store" in proc.stderr and "spectm join" in proc.stderr and "Traceback" not in proc.stderr


def test_early_stopping_stops_after_patience_and_keeps_the_best(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    """With a vanishing learning rate the val loss cannot improve by the 1e-6 margin: the run
    must stop after ``patience`` validations without improvement, and model.safetensors must
    hold the weights of the first (best) validation."""
    cfg = tiny_cfg(max_steps=20, lr=1e-12, warmup_steps=0, val_every=1, checkpoint_every=1, early_stopping_patience=2)
    res = pretrain_run(cfg, data_dir=chips_store.parents[2], run_id="es", device="cpu")
    assert res.stopped_early and res.steps == 3  # best at step 1, no improvement at steps 2 and 3
    _state, _stats, meta = load_safetensors(res.run_dir / "model.safetensors")
    assert meta["tag"] == "best" and meta["step"] == 1
    assert load_checkpoint(res.run_dir / "checkpoints" / "last.pt")["bad_evals"] == 2
    assert "stopped early: True" in (res.run_dir / "report.md").read_text()


def test_bf16_autocast_runs_on_cpu(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    """``amp: bf16`` (the GPU default) also works on the CPU, so the GPU path is exercised in CI."""
    tr = Pretrainer(
        tiny_cfg(amp="bf16", max_steps=2, val_every=0, checkpoint_every=100),
        chips_store,
        tmp_path / "bf16",
        device="cpu",
    )
    assert tr.amp
    res = tr.fit()
    assert res.steps == 2 and torch.isfinite(torch.tensor(res.final_loss))


def test_validation_scores_the_curriculum_regime_of_the_current_step(
    chips_store: Path, tiny_cfg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation draws its masks with a fixed generator (rng_step 0) but at the current step's
    curriculum ratio, so early stopping scores the regime being trained, not step 0's."""
    import spectm.pretrain.train as train_mod

    seen: list[tuple[int, int | None, int]] = []
    real = train_mod.sample_masks

    def spy(*args, **kw):
        m = real(*args, **kw)
        seen.append((args[6], args[9] if len(args) > 9 else kw.get("rng_step"), int(m[0].sum())))
        return m

    monkeypatch.setattr(train_mod, "sample_masks", spy)
    cfg = tiny_cfg(masking={"strategies": ["index-guided"], "index_guided": {"curriculum_steps": 10}})
    tr = Pretrainer(cfg, chips_store, chips_store.parents[2] / "runs" / "v", device="cpu")
    n_tok = 1 * 4 * 172  # 1 time step × 4 patches × 172 bands
    for step, ratio in ((0, 0.75), (10, 0.9)):
        seen.clear()
        tr.step = step
        tr.validate()
        assert seen and all(s == step and r == 0 and n == round(ratio * n_tok) for s, r, n in seen)
    assert tr.curriculum_end == 10  # early stopping waits for the ramp to end


def test_uncertainty_weighting_learns_task_weights(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    cfg = tiny_cfg(loss={"weighting": "uncertainty", "indices": 0.0}, max_steps=4, lr=0.05, warmup_steps=0)
    res = pretrain_run(cfg, data_dir=chips_store.parents[2], run_id="uw", device="cpu")
    st = load_checkpoint(res.run_dir / "checkpoints" / "last.pt")
    assert st["loss_log_var"].shape == (2,) and st["loss_log_var"].abs().sum() > 0  # rec and fut; idx is off
    _s, _t, meta = load_safetensors(res.run_dir / "model.safetensors")
    assert set(meta["loss_weights"]) == {"reconstruction", "future"}


def test_one_spatial_patch_with_spatial_masking_exits_2(tmp_path: Path, chips_store: Path, tiny_cfg) -> None:
    """Chips 4×4 px with patch 4 leave one patch: Laprade's spatial stage has nothing to choose."""
    tiny = {
        "patch_size": 4,
        "dim": 32,
        "depth": 1,
        "heads": 2,
        "decoder_dim": 32,
        "decoder_depth": 1,
        "decoder_heads": 2,
    }
    cfg = tiny_cfg(model=tiny, masking={"strategies": ["spatial-spectral"]})
    with pytest.raises(ConfigError, match="1 patch"):
        Pretrainer(cfg, chips_store, tmp_path / "run", device="cpu")
    p = tmp_path / "p.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "name": "x",
                "region": "lake_erie_western_basin",
                "dates": "2024-06",
                "stages": ["join", "pretrain"],
                "join": {"chip_size": 8},
                "pretrain": {"model": {"patch_size": 8}, "masking": {"strategies": ["index-guided"]}},
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "spectm", "--data-dir", str(tmp_path), "run", str(p)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "1 patch" in proc.stderr and "chip_size 16" in proc.stderr
    assert "Traceback" not in proc.stderr
