"""``spectm.pretrain.pretrain_run``: the one function behind ``spectm train pretrain``.

It resolves the chips store, creates (or resumes, or finds complete) ``runs/<id>/``, writes
the resolved config and the git commit, trains, and writes the report (loss curves,
targeted-band reconstruction vs cubic spline). Layout of a run directory: docs/data-layout.md.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from spectm import __version__
from spectm.config import Pipeline, PretrainSection, validate_model
from spectm.console import log
from spectm.errors import BadInputError, DataNotFoundError
from spectm.join.store import CHIPS, store_dir
from spectm.pretrain.checkpoint import load_checkpoint
from spectm.pretrain.report import plot_losses, plot_targeted, targeted_comparison, write_report
from spectm.pretrain.result import PretrainResult
from spectm.pretrain.train import FitOutcome, Pretrainer
from spectm.provenance import file_fingerprint, git_commit, is_complete, mark_complete, read_complete, stage_run_id
from spectm.runs import run_path


def resolve_chips(cfg: PretrainSection, data_dir: Path, chips: Path | None) -> Path:
    """--chips, else ``pretrain.chips`` (relative to the data dir), else features/<features>/chips.zarr."""
    if chips is not None:
        path = Path(chips)
    elif cfg.chips:
        path = Path(cfg.chips) if Path(cfg.chips).is_absolute() else data_dir / cfg.chips
    else:
        path = store_dir(data_dir, cfg.features) / CHIPS
    if not (path / "zarr.json").exists():
        raise DataNotFoundError(
            f"no chips store at {path}",
            "run `spectm join` first, pass --chips PATH, or make synthetic chips with `spectm train synth-chips`",
        )
    return path


def pretrain_run_id(cfg: PretrainSection, data_dir: Path, pipeline_name: str, kind: str = "pretrain") -> str:
    """The deterministic run id ``<pipeline>-<kind>-<key>``: the key hashes the section and the
    chips store's fingerprint, so the same configuration on the same chips names the same run."""
    chips = resolve_chips(cfg, data_dir, None)
    payload = {"pretrain": cfg.model_dump(mode="json"), "chips": file_fingerprint(chips)}
    return stage_run_id(pipeline_name, kind, payload)


def _broadcast(value: Any) -> Any:
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_initialized():
        return value
    obj = [value]
    dist.broadcast_object_list(obj, src=0)
    return obj[0]


def _reuse(data_dir: Path, run_id: str, rank: int) -> PretrainResult | str | None:
    """An existing ``runs/<run_id>/`` under ``reuse``: the complete run as ``skipped``, the id to
    resume from its last checkpoint, or None (train afresh; a run with no checkpoint is removed)."""
    run_dir = run_path(data_dir, run_id)
    if is_complete(run_dir):
        done = read_complete(run_dir)
        loss = done.get("final_loss")
        steps, loss = int(done.get("steps") or 0), float("nan") if loss is None else float(loss)
        return PretrainResult(status="skipped", run_dir=run_dir, steps=steps, final_loss=loss)
    if (run_dir / "checkpoints" / "last.pt").exists():
        return run_id
    if rank == 0 and run_dir.exists():  # started, but not one checkpoint written: start over
        shutil.rmtree(run_dir)
    return None


def _open_run(
    data_dir: Path,
    cfg: PretrainSection,
    chips: Path | None,
    run_id: str | None,
    resume: str | Path | None,
    pipeline: Pipeline | None,
    rank: int,
) -> tuple[Path, PretrainSection, Path | None]:
    """(run dir, config, chips): a resumed run's own config and chips, or a new run's directory
    (refused when it exists and is not empty)."""
    if resume is not None:
        run_dir = Path(resume) if Path(resume).is_dir() else run_path(data_dir, str(resume))
        if not (run_dir / "checkpoints" / "last.pt").exists():
            raise DataNotFoundError(
                f"no checkpoint to resume in {run_dir}", "pass a run id or run directory that holds checkpoints/last.pt"
            )
        cfg = validate_model(
            PretrainSection, yaml.safe_load((run_dir / "config.yaml").read_text())["pretrain"], run_dir / "config.yaml"
        )
        inputs = run_dir / "inputs.json"
        if chips is None and inputs.exists():
            chips = Path(json.loads(inputs.read_text())["chips"])
    else:
        rid = run_id or time.strftime("%Y%m%d-%H%M%S") + (f"-{pipeline.name}" if pipeline else "")
        run_dir = run_path(data_dir, rid)
        if rank == 0 and run_dir.exists() and any(run_dir.iterdir()):
            raise BadInputError(
                f"run directory {run_dir} already exists", f"pick another --run-id, or continue it with --resume {rid}"
            )
    return run_dir, cfg, chips


def pretrain_run(
    cfg: PretrainSection,
    *,
    data_dir: Path | str,
    chips: Path | None = None,
    run_id: str | None = None,
    device: str = "auto",
    resume: str | Path | None = None,
    pipeline: Pipeline | None = None,
    reuse: bool = False,
) -> PretrainResult:
    """Train (or resume) a pretraining run; only rank 0 writes files.

    ``run_id`` names ``runs/<id>/`` (default: a timestamp and the pipeline's name); ``"auto"``
    is the deterministic :func:`pretrain_run_id` of ``pipeline`` (which it then needs). With
    ``reuse`` (what the pipeline's stage passes) an existing ``runs/<run_id>/`` is not refused:
    a complete run is returned as ``skipped``, an interrupted one resumes from its last
    checkpoint and one that never wrote a checkpoint starts over. Otherwise ``resume`` (an id
    or directory) continues a run explicitly. Returns status ``done`` after training.
    """
    data_dir = Path(data_dir)
    rank = int(os.environ.get("RANK", "0"))
    if run_id == "auto" and resume is None:
        if pipeline is None:
            raise BadInputError("run_id='auto' names the run after its pipeline", "pass pipeline=, or a run_id")
        run_id = pretrain_run_id(cfg, data_dir, pipeline.name)
    if reuse and resume is None and run_id is not None:
        found = _reuse(data_dir, run_id, rank)
        if isinstance(found, PretrainResult):
            return found
        if found is not None:
            run_id, resume = None, found
    run_dir, cfg, chips = _open_run(data_dir, cfg, chips, run_id, resume, pipeline, rank)
    chips_path = resolve_chips(cfg, data_dir, chips)
    trainer = Pretrainer(cfg, chips_path, run_dir, device=device)
    run_dir = Path(_broadcast(str(run_dir)))
    trainer.run_dir = run_dir
    if trainer.is_main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "figures").mkdir(exist_ok=True)
    if resume is not None:
        trainer.load_state(load_checkpoint(run_dir / "checkpoints" / "last.pt"))
        log.info(
            "resumed %s at step %d (epoch %d, batch %d)",
            run_dir.name,
            trainer.step,
            trainer.epoch,
            trainer.batch_in_epoch,
        )
    elif trainer.is_main:
        resolved = {"pretrain": cfg.model_dump(mode="json")}
        if pipeline is not None:
            resolved = {**pipeline.model_dump(mode="json", exclude={"pretrain"}), **resolved}
        (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
        (run_dir / "inputs.json").write_text(json.dumps({"chips": str(chips_path.resolve())}), encoding="utf-8")
    commit = git_commit()
    if trainer.is_main:
        (run_dir / "git_commit.txt").write_text(commit + "\n", encoding="utf-8")
    report: dict[str, Any] = {}
    try:
        result = trainer.fit()
        if trainer.is_main:
            trainer.export(run_dir / "model_final.safetensors", tag="final")
            if not (run_dir / "model.safetensors").exists():  # no validation split: final is best
                trainer.export(run_dir / "model.safetensors", tag="final")
            report = _report(trainer, result, cfg, chips_path, commit)
            mark_complete(run_dir, {"stage": "pretrain", "steps": result.steps, "final_loss": result.final_loss})
    finally:
        trainer.cleanup()
    return PretrainResult(status="done", report=report, **vars(result))


def _report(trainer: Pretrainer, result: FitOutcome, cfg: PretrainSection, chips: Path, commit: str) -> dict:
    run_dir = trainer.run_dir
    windows = [tuple(w) for w in cfg.masking.spectral_targeted.windows_nm]
    ds, split = (trainer.val_ds, "val") if trainer.val_ds is not None else (trainer.train_ds, "train")
    comp = None
    if windows:
        comp = targeted_comparison(trainer, ds, windows, cfg.baseline_max_pixels, cfg.report_spectra)
        comp["split"] = split
        plot_targeted(comp["examples"], windows, run_dir / "figures" / "targeted_bands.png")
    if (run_dir / "metrics.csv").exists():
        plot_losses(run_dir / "metrics.csv", run_dir / "figures" / "loss.png")
    info = {
        "run_id": run_dir.name,
        "spectm_version": __version__,
        "git_commit": commit,
        "chips": str(chips),
        "n_train": len(trainer.train_ds),
        "n_val": 0 if trainer.val_ds is None else len(trainer.val_ds),
        "n_bands": len(trainer.wavelengths),
        "chip_shape": "×".join(map(str, trainer.train_ds.shape[1:])),
        "params": result.params,
        "strategies": cfg.masking.strategies,
        "device": str(trainer.device),
        "world_size": result.world_size,
        "steps": result.steps,
        "epochs": result.epochs_done,
        "stopped_early": result.stopped_early,
        "final_loss": result.final_loss,
        "best_val_loss": result.best_val_loss,
        "torch": torch.__version__,
    }
    write_report(run_dir / "report.md", info, comp)
    summary = {**info, "targeted": {k: v for k, v in (comp or {}).items() if k != "examples"}}
    (run_dir / "run.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return summary
