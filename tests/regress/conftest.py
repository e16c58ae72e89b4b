"""Module-wide fixtures for the regression tests: one tiny feature store and one tiny encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .helpers import make_store, tiny_pretrain

torch.set_num_threads(1)


@pytest.fixture(scope="package")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with features/default (120 match-ups per horizon) and runs/enc (a tiny encoder)."""
    d = tmp_path_factory.mktemp("regress") / "spectm-data"
    d.mkdir()
    make_store(d)
    tiny_pretrain(d)
    return d


@pytest.fixture(scope="package")
def encoder(store_dir: Path) -> Path:
    return store_dir / "runs" / "enc"
