"""`spectm samples ...` end to end, the pipeline stage, and idempotency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spectm.cli import main
from spectm.config import Pipeline
from spectm.contract import StageResult
from spectm.samples import bundled_files, ingest_samples
from spectm.samples.stage import run_stage

ROOT = Path(__file__).resolve().parents[2]
USER = ROOT / "tests" / "data" / "insitu"


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0)


def test_ingest_prints_summary_then_skips(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["--data-dir", str(data_dir), "samples", "ingest"]) == 0
    out = capsys.readouterr().out
    assert "lake_erie_habs_field_sampling_results_2012_2018.csv" in out and "2,506" in out and "2,504" in out
    assert (data_dir / "insitu" / "samples.parquet").exists()
    assert run_main(["--data-dir", str(data_dir), "samples", "ingest"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert run_main(["--data-dir", str(data_dir), "samples", "show", "--by", "station"]) == 0
    out = capsys.readouterr().out
    assert "WE16" in out and "Samples by station" in out


def test_user_csv_via_cli(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data-dir", str(data_dir), "samples", "ingest", str(USER / "my_lake.csv"),
            "--column-map", str(USER / "my_lake.yaml")]  # fmt: skip
    assert run_main(args) == 0
    assert "my_lake.csv" in capsys.readouterr().out


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["samples", "ingest", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--column-map", "--timezone", "--force", "FILES"):
        assert opt.lower() in out.lower(), opt


def test_bad_input_exit_2_without_traceback(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,where,what\n1/1/2024,here,3\n")
    assert run_main(["--data-dir", str(data_dir), "samples", "ingest", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a known GLERL layout" in err and "remedy:" in err and "Traceback" not in err
    assert run_main(["--data-dir", str(data_dir), "samples", "show"]) == 2  # nothing ingested yet
    assert run_main(["--data-dir", str(data_dir), "samples", "ingest", str(tmp_path / "nope.csv")]) == 2


def test_python_m_spectm_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,where,what\n1/1/2024,here,3\n")
    r = subprocess.run(
        [sys.executable, "-m", "spectm", "--data-dir", str(tmp_path / "d"), "samples", "ingest", str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "bad.csv" in r.stderr and "Traceback" not in r.stderr


def test_stage_done_then_skipped(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = Pipeline(name="t", region="lake_erie_western_basin", dates="2024-06:2024-10", stages=["samples"])
    first = run_stage(p, data_dir)
    assert first.status == "done" and "2504 kept" in first.summary
    assert first.counts["rows_kept"] == 2504 and first.counts["rows_read"] >= 2504
    again = run_stage(p, data_dir)
    assert again.status == "skipped" and capsys.readouterr().out == ""  # the stage itself prints nothing
    again.print_details()  # what `spectm run` prints after the stage's line
    assert "Samples ingest (up to date" in capsys.readouterr().out


def test_changed_input_or_force_rebuilds(tmp_path: Path) -> None:
    src = next(p for p in bundled_files() if p.name.startswith("2025_"))
    f = tmp_path / src.name
    f.write_bytes(src.read_bytes())
    d = tmp_path / "d"
    first = ingest_samples([f], data_dir=d, column_map="")  # "" as a pipeline file may leave it: no map
    assert not first.skipped
    again = ingest_samples([f], data_dir=d)
    assert again.skipped and len(again.samples) == 24 and again.files[0].rows_read == 24
    for res, status in ((first, "done"), (again, "skipped")):
        assert isinstance(res, StageResult) and res.stage == "samples" and res.status == status
        assert (
            res.summary.startswith("24 kept, 0 rejected of 24 rows")
            and str(d / "insitu" / "samples.parquet") in res.outputs
        )
        assert res.counts == {"rows_read": 24, "rows_kept": 24, "rows_rejected": 0}
    assert not ingest_samples([f], data_dir=d, force=True).skipped
    f.write_bytes(src.read_bytes().replace(b"\r\n4/28/2025,WE2,5.6", b"\r\n4/28/2025,WE2,5.7"))
    assert not ingest_samples([f], data_dir=d).skipped
