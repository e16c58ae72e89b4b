"""The codebase stays navigable: no module of spectm longer than a reader can hold in mind,
and every module's dependencies in its import block.

A module past the limit is split along its own seams (a stage's steps, a file format's
reader and writer, a loop and its units), not trimmed; ruff's C901 (pyproject.toml) keeps
each function's complexity in bounds the same way.

A first-party import inside a function hides a dependency from the reader (and from the
import-linter layers, which see it but a newcomer does not). Two reasons justify one: the
command-line modules (every ``cli.py``, and ``spectm/pipeline.py`` which the CLI imports)
must start without the science stack so ``spectm --help`` is quick, and a module that does
not load torch may defer a torch module to the function that needs it. Anything else goes
at the top of the module.
"""

from __future__ import annotations

import ast
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


COMMAND_LINE = ("cli.py", "pipeline.py")  # module file names that may defer any import
DEFERRABLE = "torch"  # a top-level import of it (directly or through a first-party module) makes a module heavy


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_imports(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def hidden_imports(root: Path) -> list[str]:
    """``<path>:<line> <module>`` for each first-party import inside a function that neither a
    command-line module nor deferring torch from a module without it justifies."""
    trees = {_module_name(p, root): (p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(root.rglob("*.py"))}
    heavy: set[str] = set()
    grew = True
    while grew:  # modules that load torch at import, directly or through another first-party module
        grew = False
        for name, (_, tree) in trees.items():
            if name not in heavy and any(i.split(".")[0] == DEFERRABLE or i in heavy for i in _top_imports(tree)):
                heavy.add(name)
                grew = True
    out = []
    for name, (path, tree) in trees.items():
        if path.name in COMMAND_LINE:
            continue
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                target = node.module if isinstance(node, ast.ImportFrom) else None
                if target and target.split(".")[0] == root.name and (name in heavy or target not in heavy):
                    out.append(f"{path.relative_to(root.parent).as_posix()}:{node.lineno} {target}")
    return sorted(set(out))


def test_first_party_imports_are_at_module_top_unless_they_defer_torch_or_serve_the_cli() -> None:
    hidden = hidden_imports(PACKAGE)
    assert not hidden, f"move these imports to the module's import block: {hidden}"


def test_the_import_check_tells_a_deferred_torch_module_from_a_hidden_dependency(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "model.py").write_text("import torch\n", encoding="utf-8")
    (pkg / "light.py").write_text("X = 1\n", encoding="utf-8")
    (pkg / "user.py").write_text(
        "def fit():\n    from pkg.model import Net\n\n\ndef table():\n    from pkg.light import X\n", encoding="utf-8"
    )
    (pkg / "cli.py").write_text("def cmd():\n    from pkg.light import X\n", encoding="utf-8")
    (pkg / "heavy_user.py").write_text(
        "import torch\n\n\ndef fit():\n    from pkg.model import Net\n", encoding="utf-8"
    )
    assert hidden_imports(pkg) == ["pkg/heavy_user.py:5 pkg.model", "pkg/user.py:6 pkg.light"]
