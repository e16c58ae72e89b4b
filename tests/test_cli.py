"""The CLI end to end: exit codes, messages, global options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spectm import __version__
from spectm.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_catalogs_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["catalogs"]) == 0
    out = capsys.readouterr().out
    for word in ("lake_erie_western_basin", "pace_oci_l2_aop", "s2_earth_search", "glerl_western_lake_erie"):
        assert word in out


def test_catalogs_bad_kind() -> None:
    assert run_main(["catalogs", "planets"]) == 2


def test_bad_pipeline_is_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("name: x\nregion: lake_erie\ndates: 2024-06\nbogus: 1\n")
    assert run_main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'bogus'" in err and "Traceback" not in err


def test_python_m_spectm_subprocess(tmp_path: Path) -> None:
    """`python -m spectm` works and a user error exits 2 with a one-line message."""
    f = tmp_path / "p.yaml"
    f.write_text("name: x\nregion: nowhere_lake\ndates: 2024-06\nstages: [samples]\n")
    r = subprocess.run(
        [sys.executable, "-m", "spectm", "--data-dir", str(tmp_path / "d"), "run", str(f)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "unknown region 'nowhere_lake'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "spectm", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and __version__ in r.stdout


def test_library_warnings_hidden_by_default_shown_at_v(tmp_path: Path) -> None:
    """rasterio's NotGeoreferencedWarning (a real GeoTIFF without a transform) and distributed's
    port-in-use message stay out of normal output and come back with -v; others always show."""
    import warnings

    import numpy as np
    import rasterio

    from spectm.console import configure

    tif = tmp_path / "plain.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(tif, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8") as dst:
            dst.write(np.zeros((1, 2, 2), np.uint8))

    def emitted() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            with rasterio.open(tif) as src:
                src.read(1)
            warnings.warn("Port 8787 is already in use.\nPerhaps you already have a cluster running?", stacklevel=1)
            warnings.warn("a warning spectm users should see", UserWarning, stacklevel=1)
        return [str(w.message) for w in caught]

    try:
        configure(0)
        assert emitted() == ["a warning spectm users should see"]
        configure(1)
        got = emitted()
        assert any("geotransform" in m for m in got) and any("Port 8787" in m for m in got)
    finally:
        configure(0)
