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
