"""The twin on a user's data dir: their samples are never overwritten; an interrupted run is recognised."""

from __future__ import annotations

from pathlib import Path

import pytest

from spectm.errors import SpectmError
from spectm.twin import generate_twin
from spectm.twin.generate import IN_PROGRESS

from .conftest import mini_aoi, mini_samples

DATES = "2024-08-05:2024-08-05"
KW = {"include_s2": False, "pace_resolution_m": 2000.0}


def test_existing_samples_parquet_drives_the_twin_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "insitu" / "samples.parquet"
    path.parent.mkdir(parents=True)
    mini_samples().to_parquet(path)
    before = path.read_bytes()
    res = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, **KW)
    assert path.read_bytes() == before
    assert res.drivers_source == "samples" and res.samples_path == path
    assert any("existing insitu/samples.parquet" in n for n in res.notes)


def test_interrupted_run_is_regenerated_or_named(tmp_path: Path) -> None:
    first = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), **KW)
    raw = tmp_path / "raw"
    assert not (raw / IN_PROGRESS).exists()
    # killed before the manifest: the same parameters regenerate, without --force
    (raw / "manifest.json").unlink()
    (raw / IN_PROGRESS).write_text(first.params_hash)
    again = generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), **KW)
    assert again.status == "done" and any("interrupted" in n for n in again.notes)
    # other parameters over an interrupted run: one line naming --force
    (raw / "manifest.json").unlink()
    (raw / IN_PROGRESS).write_text(first.params_hash)
    with pytest.raises(SpectmError, match="interrupted; re-run with --force"):
        generate_twin(mini_aoi(), DATES, data_dir=tmp_path, samples=mini_samples(), seed=1, **KW)
