"""``build-cube --dry-run``: the plan names the slices a build then writes, and writes nothing."""

from __future__ import annotations

from datetime import date

from spectm.cli import main
from spectm.cube import build_cube
from spectm.cube.plan import plan_cube
from tests.cube.helpers import BBOX, JUL16A, JUL18, V31, add_pace

DATES = "2024-07-15:2024-07-18"


def test_plan_matches_the_build_and_writes_nothing(tmp_path):
    d = tmp_path / "data"
    add_pace(d, [V31, JUL16A])
    (p,) = plan_cube(BBOX, DATES, data_dir=d, sensors=["pace"])
    assert not p.exists and not (d / "cubes").exists()
    assert p.new == [date(2024, 7, 15), date(2024, 7, 16)] and p.items == 2 and p.days_without_data == 2
    assert p.grid == (36, 31) and p.n_bands == 172
    assert p.slice_bytes == 36 * 31 * (172 * 4 * 2 + 1)  # rrs + rrs_unc float32, valid_count uint8
    r = build_cube(BBOX, DATES, data_dir=d, sensors=["pace"], scheduler="synchronous").sensors["pace"]
    assert r.days_written == p.new
    add_pace(d, [JUL18])
    (p2,) = plan_cube(BBOX, DATES, data_dir=d, sensors=["pace"])
    assert p2.exists and p2.new == [date(2024, 7, 18)] and p2.complete == 2 and not p2.refusal
    (p3,) = plan_cube(BBOX, DATES, data_dir=d, sensors=["pace"], force_dates="2024-07-16")
    assert p3.rebuild == [date(2024, 7, 16)]
    (p4,) = plan_cube(BBOX, DATES, data_dir=d, sensors=["pace"], radius_m=5000)
    assert "other settings" in p4.refusal
    r2 = build_cube(BBOX, DATES, data_dir=d, sensors=["pace"], scheduler="synchronous").sensors["pace"]
    assert r2.days_written == p2.new


def test_cli_dry_run(tmp_path, capsys):
    d = tmp_path / "data"
    add_pace(d, [V31])
    try:
        main(
            [
                "--data-dir",
                str(d),
                "build-cube",
                "--bbox",
                BBOX,
                "--dates",
                DATES,
                "--sensor",
                "pace",
                "--dry-run",
            ]
        )
    except SystemExit as exc:
        assert not exc.code
    out = capsys.readouterr().out
    assert "nothing written" in out and "2024-07-15" in out and "MiB" in out
    assert not (d / "cubes").exists()
