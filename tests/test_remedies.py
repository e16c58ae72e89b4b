"""Every remedy spectm prints points at something that exists: each ``--option`` it names is an
option of some ``spectm`` command, and each docs page (and § section / #anchor) it names is there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import typer

from spectm.cli import app

ROOT = Path(__file__).resolve().parents[1]
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
DOC_REF = re.compile(r"docs/([\w-]+\.md)(?:\s*§\s*([^,;:)'\"`]+?)(?=$|[,;:)'\"`]| \(|\s{2})|#([\w-]+))?")


def _strings(node: ast.AST) -> list[str]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            out.append(sub.value)
    return out


def remedy_strings() -> list[tuple[str, str]]:
    """(file:line, text) of every string passed to an error constructor (message and remedy)."""
    found = []
    for path in sorted((ROOT / "spectm").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if not (fname.endswith("Error") or fname in {"BadParameter", "StageResult"}):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                text = "".join(_strings(arg))
                if text:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def cli_options() -> set[str]:
    opts: set[str] = set()

    def walk(cmd: click.Command) -> None:
        for p in cmd.params:
            opts.update(o for o in [*p.opts, *getattr(p, "secondary_opts", [])] if o.startswith("--"))
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return opts | {"--help", "--version"}


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(doc: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in doc.read_text().splitlines() if line.startswith("#")]


def test_the_scan_finds_remedies():
    texts = [t for _, t in remedy_strings()]
    assert any("--force" in t for t in texts) and any("docs/" in t for t in texts)


def test_every_option_named_in_a_remedy_exists():
    known = cli_options()
    bad = [(where, opt) for where, text in remedy_strings() for opt in OPTION.findall(text) if opt not in known]
    assert bad == []


def test_every_docs_page_and_section_named_in_a_remedy_exists():
    bad = []
    for where, text in remedy_strings():
        for page, section, anchor in DOC_REF.findall(text):
            doc = ROOT / "docs" / page
            if not doc.exists():
                bad.append((where, page))
                continue
            heads = headings(doc)
            if section and not any(h.lower().startswith(section.strip().lower()) for h in heads):
                bad.append((where, f"{page} § {section}"))
            if anchor and anchor not in {_slug(h) for h in heads}:
                bad.append((where, f"{page}#{anchor}"))
    assert bad == []


def test_every_command_named_in_a_remedy_exists():
    root = typer.main.get_command(app)
    bad = []
    for where, text in remedy_strings():
        for first, second in re.findall(r"[`'\"]spectm ([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9-]*))?", text):
            cmd = root.commands.get(first)  # type: ignore[attr-defined]
            if cmd is None:
                bad.append((where, first))
            elif isinstance(cmd, click.Group) and second and second not in cmd.commands:
                bad.append((where, f"{first} {second}"))
    assert bad == []
