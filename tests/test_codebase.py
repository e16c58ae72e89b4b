"""The codebase stays navigable: no module of spectm longer than a reader can hold in mind.

A module past the limit is split along its own seams (a stage's steps, a file format's
reader and writer, a loop and its units), not trimmed; ruff's C901 (pyproject.toml) keeps
each function's complexity in bounds the same way.
"""

from __future__ import annotations

from pathlib import Path

import spectm

MAX_LINES = 400
PACKAGE = Path(spectm.__file__).resolve().parent


def too_long(root: Path, limit: int = MAX_LINES) -> list[str]:
    """``<path>: <n> lines`` for each module under ``root`` longer than ``limit`` lines."""
    out = []
    for p in sorted(root.rglob("*.py")):
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > limit:
            out.append(f"{p.relative_to(root.parent).as_posix()}: {n} lines")
    return out


def test_no_module_is_longer_than_the_limit() -> None:
    n_modules = len(list(PACKAGE.rglob("*.py")))
    assert n_modules > 50, f"found only {n_modules} modules under {PACKAGE}: the check would pass vacuously"
    long = too_long(PACKAGE)
    assert not long, f"modules over {MAX_LINES} lines (split them along their seams): {long}"


def test_the_check_reports_a_module_one_line_over(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "at_limit.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    (pkg / "sub" / "over.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    assert too_long(pkg) == [f"pkg/sub/over.py: {MAX_LINES + 1} lines"]
