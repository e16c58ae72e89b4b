"""The one stage contract: every registered stage has the same entry shape and result type."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from spectm.config import Pipeline, load_pipeline
from spectm.contract import StageResult, status_of
from spectm.pipeline import STAGES, resolve_stage, run_pipeline

SEEN: list[tuple[str, bool]] = []


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_stage_has_the_one_entry_shape(name: str) -> None:
    sig = inspect.signature(resolve_stage(name))
    params = list(sig.parameters.values())
    assert [p.name for p in params] == ["pipeline", "data_dir", "force"]
    assert params[2].kind is inspect.Parameter.KEYWORD_ONLY and params[2].default is False
    assert sig.return_annotation in ("StageResult", StageResult)


def test_result_rejects_an_unknown_status_and_keeps_paths_as_text() -> None:
    with pytest.raises(ValueError, match="written"):
        StageResult("join", "written")  # type: ignore[arg-type]
    r = StageResult("cube", status_of(False), "x", [Path("/a/b")], {"days_written": 0})
    assert r.status == "skipped" and r.outputs == ["/a/b"] and r.counts == {"days_written": 0}
    assert status_of(True) == "done"


def recording_stage(pipeline: Pipeline, data_dir: Path, *, force: bool = False) -> StageResult:
    SEEN.append((pipeline.name, force))
    return StageResult("join", "done", "recorded", counts={"n": 1})


@pytest.mark.parametrize("force", [False, True])
def test_run_passes_force_to_every_stage(
    force: bool, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SEEN.clear()
    monkeypatch.setitem(STAGES, "join", f"{__name__}:recording_stage")
    pf = tmp_path / "p.yaml"
    pf.write_text(
        yaml.safe_dump({"name": "rec", "region": "-83.5,41.55,-83.2,41.75", "dates": "2024-08-01", "stages": ["join"]})
    )
    (res,) = run_pipeline(load_pipeline(pf), data_dir, force=force)
    assert [("rec", force)] == SEEN and res.counts == {"n": 1} and res.seconds >= 0
