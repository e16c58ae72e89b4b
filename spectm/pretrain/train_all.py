"""``spectm train`` with no subcommand: join (if needed), pretrain and regress with defaults
sized for the machine, on the region and dates of the last fetch (or twin).

Two presets (docs/model.md, "spectm train with no options"):

* **cpu** (no CUDA device): the demo-size encoder (patch 8, dim 64, depth 2, 400 optimizer
  steps, one data-loading process) and short regression fits (frozen head 200 steps,
  fine-tuning 5 epochs). On 2 shared CPU cores the demo season pretrains in about a minute;
  the whole command finishes in minutes.
* **gpu** (a CUDA device is visible, or ``--device cuda``): the full-size defaults of
  ``pretrain:`` (patch 4, dim 128, depth 6, 50 epochs, early stopping) and of ``regress:``
  on the GPU.

It runs the same stage adapters as ``spectm run`` under the pipeline name ``train``, so a
second call skips complete work and an interrupted one resumes; a pipeline file with its own
``pretrain:``/``regress:`` sections gives full control (``spectm run``, ``spectm train
pretrain --config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from spectm.config import Pipeline, PretrainModel, PretrainSection, RegressSection
from spectm.contract import StageResult
from spectm.last_fetch import last_fetch
from spectm.pipeline import run_pipeline

TRAIN_PIPELINE = "train"
Preset = Literal["cpu", "gpu"]


def machine_preset(device: str = "auto") -> Preset:
    """``gpu`` when a CUDA device will be used, else ``cpu``."""
    if device == "cpu":
        return "cpu"
    import torch

    return "gpu" if torch.cuda.is_available() else "cpu"


def preset_sections(preset: Preset) -> tuple[PretrainSection, RegressSection]:
    """The ``pretrain:`` and ``regress:`` sections of a preset (see the module docstring)."""
    if preset == "gpu":
        return PretrainSection(), RegressSection(device="auto")
    pretrain = PretrainSection(
        max_steps=400,
        batch_size=32,
        lr=0.002,
        warmup_steps=20,
        val_every=100,
        checkpoint_every=100,
        num_workers=0,
        cpu_threads=1,
        model=PretrainModel(patch_size=8, dim=64, depth=2, heads=4, decoder_dim=64, decoder_depth=1, decoder_heads=4),
    )
    return pretrain, RegressSection(finetune_epochs=5, frozen_steps=200)


def default_train_pipeline(region: str, dates: str, preset: Preset) -> Pipeline:
    """The in-memory pipeline ``spectm train`` runs: join → pretrain → regress with defaults."""
    pretrain, regress = preset_sections(preset)
    return Pipeline(
        name=TRAIN_PIPELINE,
        description=f"spectm train ({preset} preset)",
        region=region,
        dates=dates,
        stages=["join", "pretrain", "regress"],
        pretrain=pretrain,
        regress=regress,
    )


def train_all(
    data_dir: Path, *, region: str | None = None, dates: str | None = None, device: str = "auto"
) -> tuple[Pipeline, list[StageResult]]:
    """Join, pretrain and regress with the machine's preset; ``region``/``dates`` default to
    those of ``raw/manifest.json``. Returns the pipeline run and the stage results."""

    if region is None or dates is None:
        m_region, m_dates = last_fetch(data_dir)
        region, dates = region or m_region, dates or m_dates
    pipeline = default_train_pipeline(region, dates, machine_preset(device))
    return pipeline, run_pipeline(pipeline, data_dir, rerun="spectm train")
