"""The repository explains itself: no pointers to notes outside it, no skipped hard imports.

A newcomer can only follow references to things they have. Facts the code relies on live in
docs/ (docs/pace.md, docs/sentinel2.md, docs/glerl.md, docs/bio-optics.md) and code cites those
pages; this test keeps references to design notes outside the repository, to the folder they lived
in, and to tracker issue numbers from coming back.

And a broken import of spectm's own code or of a hard dependency must fail a test, not skip it:
``pytest.importorskip`` is only for optional extras.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED_DIRS = ("spectm", "tests", "benchmarks", "pipelines", "docs", "catalogs")
SCANNED_FILES = ("Makefile", "pyproject.toml", "environment.yml")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".txt", ".csv"}
MAX_BYTES = 2_000_000  # data tables above this are real data, not prose

# Built from pieces so that this file does not match itself.
_OUTSIDE = re.compile(
    "|".join(
        [
            r"\b" + "DOM" + r"AIN\b",  # the domain-notes file, by name or section sign
            r"\b" + "DES" + r"IGN\b",  # the design-notes file
            "sha" + "red/",  # the folder outside the repository that held them
            r"\b[Ii]" + r"ssues?[ -]#?\d+",  # tracker issue numbers, with or without "#"
        ]
    )
)


def outside_references(text: str) -> list[str]:
    """The matches of references to things outside the repository in ``text``."""
    return [m.group(0) for m in _OUTSIDE.finditer(text)]


def _scanned() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for d in SCANNED_DIRS:
        for p in sorted((ROOT / d).rglob("*")):
            if p.is_file() and p.suffix in TEXT_SUFFIXES and p.stat().st_size <= MAX_BYTES:
                files.append(p)
    return files


def test_the_pattern_catches_each_kind_of_reference() -> None:
    """The scanner itself can fail: each kind of outside reference is caught, prose is not."""
    caught = [
        "see " + "DOM" + "AIN.md §1.6",
        "(" + "DOM" + "AIN §5.4)",
        "DES" + "IGN.md §4",
        "../" + "sha" + "red/reference/pace",
        "as i" + "ssue 13 asked",
        "I" + "ssue #7",
        "the i" + "ssue-8 contract",
    ]
    for text in caught:
        assert outside_references(text), text
    assert not outside_references("the Fourier domain; a design choice; docs/pace.md § Flags; earthaccess#1464")


def test_nothing_refers_outside_the_repository() -> None:
    files = _scanned()
    assert any(p.name == "pace.md" for p in files), "docs/ was not scanned"
    hits = []
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            for m in outside_references(line):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {m!r}")
    assert not hits, "references outside the repository (cite a docs/ page instead):\n" + "\n".join(hits)


def _hard_dependencies() -> set[str]:
    """Import names of the packages pyproject.toml lists as hard dependencies."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0].lower().replace("-", "_") for d in deps}
    aliases = {"pyyaml": "yaml", "scikit_learn": "sklearn", "netcdf4": "netCDF4", "odc_stac": "odc"}
    return {aliases.get(n, n) for n in names}


_IMPORTORSKIP = re.compile(r"importorskip\(\s*[\"']([\w.]+)[\"']")


def test_no_importorskip_of_spectm_or_hard_dependencies() -> None:
    hard = _hard_dependencies()
    assert {"torch", "yaml", "pystac_client"} <= hard
    bad = []
    for p in sorted((ROOT / "tests").rglob("*.py")):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            for m in _IMPORTORSKIP.finditer(line):
                top = m.group(1).split(".")[0]
                if top == "spectm" or top in hard:
                    bad.append(f"{p.relative_to(ROOT)}:{n}: importorskip({m.group(1)!r})")
    assert not bad, "a broken import must fail, not skip; import these normally:\n" + "\n".join(bad)
