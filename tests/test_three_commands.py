"""The three commands as a user types them: ``fetch`` (here the twin, which writes the same
raw/ layout), then ``spectm build-cube`` and ``spectm train`` with no more arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spectm.cli import main
from spectm.errors import BadInputError, DataNotFoundError
from spectm.last_fetch import last_fetch
from spectm.pretrain import train_all


def spectm(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["--data-dir", str(data), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _manifest(data: Path, region: str, dates: tuple[str, str], runs: list[tuple[str, str]]) -> None:
    (data / "raw").mkdir(parents=True, exist_ok=True)
    (data / "raw" / "manifest.json").write_text(
        json.dumps(
            {
                "region": {"name": region, "bbox": [-83.5, 41.4, -82.5, 42.1]},
                "dates": {"start": dates[0], "end": dates[1]},
                "runs": [{"region": r, "dates": d} for r, d in runs],
                "items": [],
            }
        )
    )


def test_last_fetch_region_and_dates(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="spectm fetch"):
        last_fetch(tmp_path)
    # June then July of the same lake: one season June..July
    _manifest(
        tmp_path,
        "lake_erie",
        ("2024-07-01", "2024-07-31"),
        [("lake_erie", "2024-06-01:2024-06-30"), ("lake_erie", "2024-07-01:2024-07-31")],
    )
    assert last_fetch(tmp_path) == ("lake_erie", "2024-06-01:2024-07-31")
    # a bbox fetch has no catalog name: W,S,E,N
    _manifest(tmp_path, "bbox", ("2024-07-01", "2024-07-31"), [])
    assert last_fetch(tmp_path) == ("-83.5,41.4,-82.5,42.1", "2024-07-01:2024-07-31")
    # two lakes in one data dir: the user must choose, the error lists them on one line
    _manifest(
        tmp_path,
        "lake_erie",
        ("2024-07-01", "2024-07-31"),
        [("lake_okeechobee", "2024-06-01:2024-06-30"), ("lake_erie", "2024-07-01:2024-07-31")],
    )
    with pytest.raises(BadInputError) as exc:
        last_fetch(tmp_path)
    assert "lake_okeechobee, lake_erie" in exc.value.message and "\n" not in str(exc.value)


def test_several_regions_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _manifest(
        tmp_path,
        "lake_erie",
        ("2024-07-01", "2024-07-31"),
        [("lake_okeechobee", "2024-06-01:2024-06-30"), ("lake_erie", "2024-07-01:2024-07-31")],
    )
    for cmd in (["build-cube"], ["train"]):
        code, _, err = spectm(capsys, tmp_path, *cmd)
        assert code == 2 and "several regions (lake_okeechobee, lake_erie)" in err and "Traceback" not in err


def test_presets() -> None:
    assert train_all.machine_preset("cpu") == "cpu"
    cpu_pre, cpu_reg = train_all.preset_sections("cpu")
    assert (cpu_pre.max_steps, cpu_pre.model.dim, cpu_pre.model.depth, cpu_pre.num_workers) == (
        400,
        64,
        2,
        0,
    )
    assert (cpu_reg.frozen_steps, cpu_reg.finetune_epochs, cpu_reg.device) == (200, 5, "cpu")
    gpu_pre, gpu_reg = train_all.preset_sections("gpu")
    assert gpu_pre.max_steps is None and gpu_pre.model.dim == 128 and gpu_reg.device == "auto"


@pytest.mark.slow
def test_twin_then_build_cube_then_train_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "spectm-data"
    code, _, err = spectm(capsys, data, "twin", "generate", "--dates", "2024-07-01:2024-07-31", "--no-s2")
    assert code == 0, err
    code, out, err = spectm(capsys, data, "build-cube")
    assert code == 0, err
    assert "--bbox lake_erie_western_basin --dates 2024-07-01:2024-07-31 (from raw/manifest.json)" in out
    assert (data / "cubes" / "lake_erie_western_basin_pace.zarr").is_dir()
    # the cpu preset's wiring, with fewer steps so the test takes seconds (test_presets pins the sizes)
    cpu = train_all.preset_sections

    def small(preset: train_all.Preset):  # type: ignore[no-untyped-def]
        pre, reg = cpu(preset)
        return (
            pre.model_copy(update={"max_steps": 10, "val_every": 5, "checkpoint_every": 5}),
            reg.model_copy(update={"frozen_steps": 10, "finetune_epochs": 1}),
        )

    monkeypatch.setattr(train_all, "preset_sections", small)
    code, out, err = spectm(capsys, data, "train", "--device", "cpu")
    assert code == 0, err
    assert "spectm train: cpu preset" in out and "Traceback" not in err
    assert "pretraining run:" in out and "regression metrics:" in out
    runs = sorted(p.name for p in (data / "runs").iterdir())
    assert any(r.startswith("train-pretrain-") for r in runs) and any(r.startswith("train-regress-") for r in runs)
    assert (data / "features" / "default" / "matchups.parquet").exists()
    # again: everything complete is skipped; explicit options keep working
    code, out, err = spectm(capsys, data, "train", "--device", "cpu")
    assert code == 0 and out.count("skipped") >= 3, err
    code, out, err = spectm(
        capsys,
        data,
        "build-cube",
        "--bbox",
        "lake_erie_western_basin",
        "--dates",
        "2024-07-01:2024-07-05",
        "--sensor",
        "pace",
        "--scheduler",
        "synchronous",
    )
    assert code == 0 and "from raw/manifest.json" not in out and "up to date" in out, err


def test_a_failed_stage_names_spectm_train_to_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`spectm train` runs stages like `spectm run`, but its resume hint is `spectm train`."""
    _manifest(tmp_path, "lake_erie_western_basin", ("2024-07-01", "2024-07-31"), [])  # no cube: join fails
    code, _, err = spectm(capsys, tmp_path, "train", "--device", "cpu")
    assert code == 2 and "Traceback" not in err
    assert "fix the cause and run `spectm train` again" in err and "spectm run" not in err
