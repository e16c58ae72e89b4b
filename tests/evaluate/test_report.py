"""The report of a predictions table that holds only some experiments."""

from __future__ import annotations

from pathlib import Path

from spectm.evaluate.report import build_report
from spectm.evaluate.tables import ReportSettings
from tests.evaluate.conftest import hand_table


def test_main_only_report(tmp_path: Path) -> None:
    hand_table().to_parquet(tmp_path / "predictions.parquet")
    rep = build_report(tmp_path, ReportSettings(n_boot=0))
    main = (tmp_path / "tables" / "main.md").read_text()
    # 4 weekly test samples: 4 test weeks
    assert "| current | ridge | 4 (1) | 4 | 2 | 20 | 0.900 ± 0.141 | [—, —] | 0.250 ± 0.354 | 0.125 ± 0.177 |" in main
    assert "| current | svr | 4 (0) | 4 | 2 | 20 | 0.400 ± 0.566 |" in main
    assert "no rows" in (tmp_path / "tables" / "ablation.md").read_text()
    assert rep.tables["efficiency"].empty
    assert [p.name for p in rep.figures] == ["scatter_current.png"]  # best model: ridge
    text = (tmp_path / "report.md").read_text()
    assert "figures/scatter_current.png" in text and "label_efficiency.png" not in text
