"""The one stage contract: every registered stage has the same entry shape and result type."""

from __future__ import annotations

import ast
import inspect
import re
import typing
from importlib import import_module
from pathlib import Path
from typing import get_type_hints

import pytest
import yaml

import spectm
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


STAGE_FILES = {
    name: Path(spectm.__file__).parent / spec.split(":")[0].split(".")[1] / "stage.py" for name, spec in STAGES.items()
}


def _adapter_call(path: Path) -> ast.Call:
    """The one call ``run_stage`` returns; fails on any other statement in the adapter."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert [f.name for f in fns] == ["run_stage"], f"{path}: only run_stage belongs in a stage adapter"
    body = fns[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    assert len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Call), (
        f"{path}: run_stage must be one statement, `return <entry point>(...)`"
    )
    return body[0].value


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_adapter_is_one_call_to_an_entry_point_that_returns_a_stage_result(name: str) -> None:
    call = _adapter_call(STAGE_FILES[name])
    module = import_module(STAGES[name].split(":")[0])
    assert isinstance(call.func, ast.Name), "call the entry point by its imported name"
    entry = getattr(module, call.func.id)
    hints = get_type_hints(entry)
    assert isinstance(hints["return"], type) and issubclass(hints["return"], StageResult), (
        f"{entry.__module__}.{entry.__name__} must return a StageResult subclass, not {hints['return']}"
    )
    assert hints["return"].__dataclass_fields__["stage"].default == name


def _entry_point(name: str) -> object:
    """The function the stage's adapter calls, looked up in the adapter's module."""
    call = _adapter_call(STAGE_FILES[name])
    assert isinstance(call.func, ast.Name), "call the entry point by its imported name"
    return getattr(import_module(STAGES[name].split(":")[0]), call.func.id)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_entry_point_takes_data_dir_as_a_keyword_only_path_or_str(name: str) -> None:
    """One calling convention, as on the command line where --data-dir is a global option:
    ``entry(<what the stage works on>, *, data_dir, <options>)``."""
    entry = _entry_point(name)
    params = inspect.signature(entry).parameters
    positional = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert "data_dir" not in positional, f"{entry.__qualname__}: data_dir must be keyword-only, not positional"
    assert "data_dir" in params and params["data_dir"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["data_dir"].default is inspect.Parameter.empty, "data_dir has no default: name it in every call"
    accepted = set(typing.get_args(get_type_hints(entry)["data_dir"]))
    assert {Path, str} <= accepted, f"{entry.__qualname__}: data_dir should accept a Path or a str"


DOC_PAGES = [
    Path(spectm.__file__).parents[1] / "README.md",
    *sorted((Path(spectm.__file__).parents[1] / "docs").glob("*.md")),
]


def _doc_calls(entries: dict[str, object]) -> list[tuple[str, ast.Call]]:
    """Calls of the entry points in the docs' Python blocks and inline code spans."""
    found = []
    for page in DOC_PAGES:
        text = page.read_text(encoding="utf-8")
        trees = [ast.parse(b) for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)]
        for span in re.findall(r"`([\w.]+\([^`]*\))`", text):
            try:  # a span may be a signature (`f(a, *, b)`) or use `…`: not a call, not checked
                trees.append(ast.parse(span))
            except SyntaxError:
                continue
        for tree in trees:
            for n in ast.walk(tree):
                if isinstance(n, ast.Call):
                    fn = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                    if fn in entries:
                        found.append((f"{page.name}: {ast.unparse(n)}", n))
    return found


def test_the_docs_call_every_entry_point_with_its_signature() -> None:
    """An example with ``data_dir`` where the function no longer takes it fails here, not in a user's hands."""
    entries = {e.__name__: e for e in map(_entry_point, STAGES)}
    calls = _doc_calls(entries)
    assert {"join", "predict_maps", "pretrain_run", "regress_run", "evaluate_run"} <= {
        c.func.id if isinstance(c.func, ast.Name) else c.func.attr for _, c in calls
    }
    for where, call in calls:
        fn = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        sig = inspect.signature(entries[fn])
        kwargs = {k.arg: k.value for k in call.keywords if k.arg}
        try:  # partial: an example may leave arguments out (`join(..., region=...)`)
            sig.bind_partial(*call.args, **kwargs)
        except TypeError as e:
            pytest.fail(f"{where} does not fit {fn}{sig}: {e}")
        abridged = any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in call.args)
        assert abridged or "data_dir" in kwargs, f"{where}: name the data directory, data_dir=..."


def test_describe_fills_what_the_constructor_left_empty() -> None:
    from dataclasses import dataclass

    @dataclass(kw_only=True)
    class Demo(StageResult):
        stage: str = "demo"
        n: int

        def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
            return f"{self.n} things", [Path("/x")], {"things": self.n}

    r = Demo(status="done", n=3)
    assert (r.summary, r.outputs, r.counts, r.skipped) == ("3 things", ["/x"], {"things": 3}, False)
    assert Demo(status="skipped", n=1, summary="kept").summary == "kept"
    with pytest.raises(ValueError, match="numbers"):
        StageResult("x", "done", counts={"nested": {"a": 1}})  # type: ignore[dict-item]
