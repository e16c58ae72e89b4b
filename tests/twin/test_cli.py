"""The ``spectm twin`` commands: bad input exits 2 with a remedy; quicklook writes PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from spectm.cli import main
from spectm.twin import TwinResult


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_bad_dates_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(["--data-dir", str(tmp_path), "twin", "generate", "--dates", "2024-13:2024-10"])
    assert code == 2
    assert "remedy" in capsys.readouterr().err


def test_multi_year_needs_months_and_bad_months_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(["--data-dir", str(tmp_path), "twin", "generate", "--dates", "2012-06:2024-10"])
    assert code == 2
    assert "--months" in capsys.readouterr().err
    code = _run(["--data-dir", str(tmp_path), "twin", "generate", "--dates", "2012-06:2024-10", "--months", "10-6"])
    assert code == 2
    assert "wraps over the new year" in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


def test_bad_resolution_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(["--data-dir", str(tmp_path), "twin", "generate", "--dates", "2024-06-01", "--s2-resolution", "5"])
    assert code == 2
    assert "Sentinel-2" in capsys.readouterr().err


def test_quicklook_writes_pngs(mini_twin: TwinResult, tmp_path: Path) -> None:
    code = _run(["--data-dir", str(mini_twin.data_dir), "twin", "quicklook", "--date", "2024-08-05"])
    assert code == 0
    pngs = sorted((mini_twin.data_dir / "quicklooks").glob("*.png"))
    assert [p.name for p in pngs] == ["twin_2024-08-05_ndci.png", "twin_2024-08-05_truecolor.png"]
    assert all(p.stat().st_size > 5000 for p in pngs)


def test_quicklook_missing_day_exit_2(mini_twin: TwinResult) -> None:
    assert _run(["--data-dir", str(mini_twin.data_dir), "twin", "quicklook", "--date", "2024-01-01"]) == 2
