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


BUILD = ["build-cube", "--bbox", "-83.45,41.55,-83.1,41.85", "--dates", "2024-07-15", "--sensor", "pace"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        *[([*BUILD, "--radius", v], "--radius") for v in ("nan", "inf", "-inf", "0", "-2000")],
        *[([*BUILD, "--resolution", v], "--resolution") for v in ("nan", "inf", "0", "-20")],
        (["cube", "aggregate", "x", "--resolution", "nan"], "--resolution"),
        (["twin", "generate", "--pace-resolution", "-1200"], "--pace-resolution"),
        (["twin", "generate", "--s2-resolution", "inf"], "--s2-resolution"),
        (["join", "--min-valid", "1.5"], "--min-valid"),
        (["join", "--buffer-km", "-1"], "--buffer-km"),
        (["join", "--buffer-km", "nan"], "--buffer-km"),
        (["predict", "--min-valid", "nan"], "--min-valid"),
        ([*BUILD, "--memory-limit", "lots"], "--memory-limit 'lots' is not a memory size"),
        *[
            (["fetch", "--bbox", "lake_erie", "--dates", "2024-07", "--timeout", v], "--timeout")
            for v in ("nan", "0", "-5")
        ],
        *[
            (["fetch", "--bbox", "lake_erie", "--dates", "2024-07", "--max-cloud-cover", v], "--max-cloud-cover")
            for v in ("nan", "-1", "101")
        ],
    ],
)
def test_bad_float_options_are_one_line_exit_2(
    args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_main(["--data-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err, err
    assert err.splitlines()[0].startswith("error:") and len(err.strip().splitlines()) <= 2, err


def test_float_check_accepts_good_values() -> None:
    from spectm.checks import check_float, check_positive

    assert check_positive("--radius", 1500) == 1500.0 and check_positive("--radius", None) is None
    assert check_float("--min-valid", 0.0, low_inclusive=True, high=1.0) == 0.0
    assert check_float("--min-valid", 1.0, low_inclusive=True, high=1.0) == 1.0


def test_build_cube_api_refuses_nan_radius_and_bad_memory_limit(tmp_path: Path) -> None:
    from spectm.cube import build_cube
    from spectm.errors import BadInputError
    from tests.cube.helpers import V31, add_pace

    add_pace(tmp_path, [V31])  # a real catalog: the refusal must come from the value itself
    for kw, word in (
        ({"radius_m": float("nan")}, "radius"),
        ({"resolution": {"pace": -1.0}}, "resolution"),
        ({"memory_limit": "lots"}, "memory"),
    ):
        with pytest.raises(BadInputError, match=word):
            build_cube(BUILD[2], "2024-07-15", data_dir=tmp_path, sensors=["pace"], scheduler="local", **kw)
    assert not (tmp_path / "cubes").exists()


def _all_commands() -> list[list[str]]:
    import click
    import typer

    from spectm.cli import app

    out: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        out.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def test_help_shows_no_bool_placeholder(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    cmds = _all_commands()
    assert ["build-cube"] in cmds and ["features", "show"] in cmds
    for path in cmds:
        assert run_main([*path, "--help"]) == 0
        out = capsys.readouterr().out
        assert "<bool>" not in out, path
        if path == ["build-cube"]:
            assert "--force" in out and "--dry-run" in out and "<float>" in out  # value options keep their type


def test_global_flags_after_the_subcommand() -> None:
    from spectm.cli import hoist_global_flags

    assert hoist_global_flags(["build-cube", "-v", "--bbox", "x", "-q"]) == ["-v", "-q", "build-cube", "--bbox", "x"]
    assert hoist_global_flags(["-vv", "join", "--", "-v"]) == ["-vv", "join", "--", "-v"]
    assert hoist_global_flags(["join", "--verbose", "--name", "a"]) == ["--verbose", "join", "--name", "a"]


def test_verbose_after_subcommand_runs(tmp_path: Path) -> None:
    """`spectm catalogs -v` and `spectm catalogs -q` are accepted (Click alone rejects them)."""
    for flag in ("-v", "-q", "-vv"):
        r = subprocess.run(
            [sys.executable, "-m", "spectm", "--data-dir", str(tmp_path), "catalogs", "regions", flag],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert r.returncode == 0, r.stderr
        assert "lake_erie" in r.stdout


def test_force_is_the_one_word_and_overwrite_a_hidden_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "chips.zarr"
    args = ["train", "synth-chips", str(store), "--n-chips", "8", "--size", "2"]
    assert run_main(args) == 0
    assert run_main(args) == 2
    assert "pass --force" in capsys.readouterr().err
    assert run_main([*args, "--force"]) == 0
    assert run_main([*args, "--overwrite"]) == 0  # the old spelling still works, with a warning
    assert "--overwrite is deprecated; use --force" in capsys.readouterr().err
    for path in (["predict"], ["train", "synth-chips"]):
        assert run_main([*path, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--force" in out and "--overwrite" not in out


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
