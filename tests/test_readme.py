"""The README's examples are part of the interface: they must validate against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from spectm.config import Region
from spectm.samples.column_map import load_column_map

README = Path(__file__).resolve().parents[1] / "README.md"


def _yaml_blocks() -> dict[str, str]:
    """YAML code blocks keyed by the file name in their first comment line."""
    blocks = {}
    for body in re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        first = body.splitlines()[0]
        m = re.match(r"#\s*(\S+\.yaml)", first)
        if m:
            blocks[Path(m.group(1)).name] = body
    return blocks


def test_readme_column_map_example_validates(tmp_path: Path) -> None:
    blocks = _yaml_blocks()
    assert "my_lake.yaml" in blocks, "README lost its column-map example"
    path = tmp_path / "my_lake.yaml"
    path.write_text(blocks["my_lake.yaml"], encoding="utf-8")
    cmap = load_column_map(path)
    assert cmap.timezone == "America/Chicago"
    assert "pmc_ugL" in cmap.variables


def test_readme_region_example_validates() -> None:
    blocks = _yaml_blocks()
    assert "lake_mendota.yaml" in blocks, "README lost its add-a-lake example"
    region = Region.model_validate(yaml.safe_load(blocks["lake_mendota.yaml"]))
    assert region.crs == "EPSG:32616"
    w, s, e, n = region.bbox
    assert w < e and s < n


@pytest.mark.parametrize("name", ["demo.yaml", "lake_erie_2024.yaml"])
def test_readme_names_pipelines_that_exist(name: str) -> None:
    assert f"pipelines/{name}" in README.read_text(encoding="utf-8")
    assert (README.parent / "pipelines" / name).exists()


OWN_LAKE = README.parent / "tests" / "data" / "own_lake"
OWN_LAKE_HEADING = "### Your own lake, end to end"


def _own_lake_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert OWN_LAKE_HEADING in text, "README lost its own-lake walk"
    start = text.index(OWN_LAKE_HEADING)
    nxt = re.compile(r"^#{2,3} ", flags=re.M).search(text, start + len(OWN_LAKE_HEADING))
    return text[start : nxt.start() if nxt else len(text)]


def test_readme_own_lake_walk_is_right_after_adding_a_lake() -> None:
    headings = re.findall(r"^#{2,3} .*$", README.read_text(encoding="utf-8"), flags=re.M)
    i = headings.index("### Catalogs and adding a lake")
    assert headings[i + 1] == OWN_LAKE_HEADING


def test_readme_own_lake_walk_is_what_the_test_runs() -> None:
    """Every file and the commands of tests/test_own_lake.py are shown in the README's walk,
    byte for byte and in order: the lake, the samples, the model settings, then the commands."""
    blocks = re.findall(r"```\w+ file=(\S+)\n(.*?)```", _own_lake_section(), flags=re.S)
    names = [n for n, _ in blocks]
    assert names == [
        "lake_okeechobee.yaml",
        "lake_okeechobee.geojson",
        "okeechobee_2024.csv",
        "okeechobee_2024.yaml",
        "okeechobee_train.yaml",
        "walk.sh",
    ]
    assert sorted(p.name for p in OWN_LAKE.iterdir() if p.name != "PROVENANCE.md") == sorted(names)
    for name, body in blocks:
        assert body == (OWN_LAKE / name).read_text(encoding="utf-8"), (
            f"README's {name} differs from tests/data/own_lake"
        )
    # the test runs walk.sh's commands, which are the README's bash block
    from test_own_lake import REGION_FILES, WORK_FILES, walk_commands

    shown = [ln for ln in dict(blocks)["walk.sh"].splitlines() if ln.strip() and not ln.startswith("#")]
    assert walk_commands() == shown and all(c.startswith("spectm ") for c in shown)
    assert set(REGION_FILES) | set(WORK_FILES) | {"walk.sh"} == set(names)


def test_readme_own_lake_files_validate() -> None:
    region = Region.model_validate(yaml.safe_load((OWN_LAKE / "lake_okeechobee.yaml").read_text()))
    assert region.crs == "EPSG:32617" and region.timezone == "America/New_York"
    cmap = load_column_map(OWN_LAKE / "okeechobee_2024.yaml")
    assert cmap.date_format == "%m/%d/%Y %H:%M" and cmap.variables["pmc_ugL"].nondetect is not None
