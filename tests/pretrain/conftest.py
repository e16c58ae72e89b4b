"""Shared helpers for the model tests: tiny configs and tiny synthetic chip stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from spectm.config import PretrainSection
from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store

torch.set_num_threads(1)

TINY_MODEL = {
    "patch_size": 2,
    "dim": 32,
    "depth": 2,
    "heads": 2,
    "decoder_dim": 32,
    "decoder_depth": 1,
    "decoder_heads": 2,
    "wavelength_freqs": 8,
}


def make_tiny_cfg(**kw: Any) -> PretrainSection:
    base: dict[str, Any] = {
        "batch_size": 4,
        "max_steps": 6,
        "num_workers": 0,
        "log_every": 1,
        "val_every": 3,
        "checkpoint_every": 2,
        "warmup_steps": 2,
        "lr": 2e-3,
        "deterministic": True,
        "cpu_threads": 1,
        "early_stopping_patience": 0,
        "baseline_max_pixels": 64,
        "report_spectra": 2,
        "model": TINY_MODEL,
        "masking": {"strategies": ["spectral-targeted", "random"], "random": {"ratio": 0.3}},
    }
    base.update(kw)
    return PretrainSection.model_validate(base)


@pytest.fixture
def chips_store(tmp_path: Path) -> Path:
    """16 chips (12 train, 2 val, 2 test), 1 time step, 4×4 px, 172 PACE bands."""
    return write_chips_store(
        make_synthetic_chips(16, 1, 4, seed=3, split_fractions=(0.75, 0.125, 0.125)),
        tmp_path / "features" / "default" / "chips.zarr",
        chips_per_chunk=4,
    )


@pytest.fixture
def tiny_cfg() -> Callable[..., PretrainSection]:
    """Factory: a tiny, deterministic, single-threaded pretraining config (keywords override)."""
    return make_tiny_cfg
