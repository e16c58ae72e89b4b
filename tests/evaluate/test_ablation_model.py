"""``evaluate.ablation.model``: one model for every ablation cell, and spatial cells refused on one patch."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spectm.config import Pipeline, load_pipeline
from spectm.errors import SpectmError
from spectm.evaluate.variants import Variant, variant_section, variants

ROOT = Path(__file__).resolve().parents[2]
GROUPED = {"patch_size": 4, "band_group": 4, "dim": 64, "depth": 2, "decoder_dim": 64, "decoder_depth": 1}


def _pipeline(ablation: dict, patch: int = 8) -> dict:
    return {
        "name": "abl",
        "region": "lake_erie",
        "dates": "2024-06",
        "stages": ["join", "evaluate"],
        "join": {"chip_size": 8},
        "pretrain": {"model": {"patch_size": patch}},
        "evaluate": {"experiments": ["ablation"], "ablation": ablation},
    }


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("cell", ["laprade", "sigmae", "random+index-guided"])
def test_a_spatial_cell_on_one_patch_is_refused_when_the_pipeline_loads(tmp_path: Path, cell: str) -> None:
    with pytest.raises(SpectmError) as exc:
        load_pipeline(_write(tmp_path, _pipeline({"masking": ["spectral-targeted", cell]})))
    msg = str(exc.value)
    assert f"evaluate.ablation cell '{cell}'" in msg and "1 patch" in msg and "evaluate.ablation.model" in msg
    assert "\n" not in msg


def test_one_patch_in_the_ablation_model_is_refused_too(tmp_path: Path) -> None:
    data = _pipeline({"masking": ["laprade"], "model": {**GROUPED, "patch_size": 8}}, patch=4)
    with pytest.raises(SpectmError, match="cell 'laprade'"):
        load_pipeline(_write(tmp_path, data))


def test_non_spatial_cells_on_one_patch_are_fine() -> None:
    Pipeline.model_validate(_pipeline({"masking": ["spectral-targeted", "random"]}))


def test_the_ablation_model_replaces_pretrain_model_in_every_cell() -> None:
    p = Pipeline.model_validate(
        _pipeline({"masking": ["random", "spectral-targeted", "laprade", "sigmae"], "model": GROUPED})
    )
    ab = p.evaluate.ablation
    for v in variants(ab):
        sec = variant_section(p.pretrain, v, ab)
        assert sec.model.patch_size == 4 and sec.model.band_group == 4 and sec.model.dim == 64
    assert p.pretrain.model.patch_size == 8  # the pipeline's own section is untouched
    plain = Pipeline.model_validate(_pipeline({"masking": ["random"]}))
    assert variant_section(plain.pretrain, Variant("random", "rec"), plain.evaluate.ablation).model.patch_size == 8


def test_unknown_ablation_model_key_is_an_error(tmp_path: Path) -> None:
    data = _pipeline({"masking": ["random"], "model": {**GROUPED, "bands_per_token": 4}})
    with pytest.raises(SpectmError, match=r"evaluate\.ablation\.model\.bands_per_token"):
        load_pipeline(_write(tmp_path, data))


def test_twin_seasons_ablation_reads_the_twin_seasons_data_unchanged() -> None:
    """Same region, dates and twin/samples/cube/join sections as twin_seasons.yaml (their skip tests hash
    those, so `spectm run` skips them), only evaluate runs, and every cell gets the grouped model."""
    base = load_pipeline(ROOT / "pipelines" / "twin_seasons.yaml")
    abl = load_pipeline(ROOT / "pipelines" / "twin_seasons_ablation.yaml")
    for key in ("region", "dates", "months", "seasons", "mode", "twin", "samples", "cube", "join"):
        assert getattr(abl, key) == getattr(base, key), key
    assert abl.pretrain.features == base.pretrain.features
    assert "pretrain" not in abl.stages and "regress" not in abl.stages and abl.evaluate.experiments == ["ablation"]
    ab = abl.evaluate.ablation
    cells = variants(ab)
    assert len(cells) == 4 * 2 * 3
    assert {v.masking for v in cells} == {"random", "spectral-targeted", "laprade", "sigmae"}
    models = {variant_section(abl.pretrain, v, ab).model.model_dump_json() for v in cells}
    assert len(models) == 1 and ab.model is not None and (ab.model.patch_size, ab.model.band_group) == (4, 4)
