from __future__ import annotations

from pathlib import Path

import pytest

from spectm.cli import main
from tests.cube.helpers import BBOX, SEASON, add_pace


def spectm(capsys: pytest.CaptureFixture, data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        main(["--data-dir", str(data_dir), *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def build_pace(
    capsys: pytest.CaptureFixture, data_dir: Path, *extra: str, bbox: str = BBOX, dates: str = "2024-07-15:2024-07-18"
) -> tuple[int, str, str]:
    """``spectm build-cube`` of the PACE cube with the synchronous scheduler, plus ``extra`` options."""
    return spectm(
        capsys,
        data_dir,
        "build-cube",
        f"--bbox={bbox}",
        "--dates",
        dates,
        "--sensor",
        "pace",
        "--scheduler",
        "synchronous",
        *extra,
    )


def test_build_info_verify_quicklook_and_errors(tmp_path, capsys):
    d = tmp_path / "data"
    add_pace(d, SEASON)
    code, out, err = build_pace(capsys, d)
    assert code == 0, err
    assert "pace" in out and "written" in out
    code, out, err = spectm(capsys, d, "cube", "info", "bbox")
    assert code == 0, err
    assert "2024-07-16" in out and "time=3" in out and "EPSG:32617" in out
    code, out, _ = spectm(capsys, d, "cube", "info", "bbox", "--json")
    assert code == 0 and '"coverage"' in out
    code, out, _ = spectm(capsys, d, "cube", "verify", str(d / "cubes" / "bbox_pace.zarr"))
    assert code == 0 and "OK" in out
    png = tmp_path / "q.png"
    code, _, err = spectm(capsys, d, "cube", "quicklook", "bbox", "--date", "2024-07-16", "--png", str(png))
    assert code == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, _, err = spectm(capsys, d, "cube", "quicklook", "bbox", "--date", "2024-07-17")
    assert code == 2 and "no slice on 2024-07-17" in err
    code, _, err = spectm(capsys, d, "build-cube", f"--bbox={BBOX}", "--dates", "2024-07-15", "--sensor", "modis")
    assert code == 2 and "--sensor" in err and "Traceback" not in err
    code, _, err = spectm(capsys, d, "cube", "info", "nowhere")
    assert code == 2 and "remedy" in err
    code, _, err = build_pace(capsys, d, "--flags", "CLOUDY", dates="2024-07-15")
    assert code == 2 and "CLOUDY" in err and "flag_meanings" in err
    # an incomplete slice makes verify fail with exit code 1
    import zarr

    zarr.open_array(d / "cubes" / "bbox_pace.zarr" / "slice_complete", mode="r+")[1] = 0
    code, out, _ = spectm(capsys, d, "cube", "verify", "bbox")
    assert code == 1 and "incomplete" in out


LAND = "-83.45,41.8,-83.4,41.85"  # a box on land next to the lake


def test_days_with_no_valid_cell_are_counted_and_warned(tmp_path, capsys):
    """A box on land next to the lake: every slice is written (the day had a granule) but holds no
    valid cell, which the summary says instead of a bare 'written'."""
    d = tmp_path / "data"
    add_pace(d, SEASON)
    code, out, err = build_pace(capsys, d, "--json", bbox=LAND)
    assert code == 0, err
    import json

    res = json.loads(out)["pace"]
    assert len(res["days_written"]) == 3 and len(res["days_empty"]) == 3
    d2 = tmp_path / "data2"
    add_pace(d2, SEASON)
    code, out, err = build_pace(capsys, d2)
    assert code == 0 and "0 valid cells" in out and "warning" not in out, err  # the column, no warning
    code, out, err = build_pace(capsys, d, "--force", bbox=LAND)
    assert code == 0 and "warning: pace: 3 day(s) written with 0 valid cells" in out, err
