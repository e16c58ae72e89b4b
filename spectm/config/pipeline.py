"""A pipeline file (``pipelines/*.yaml``): the region, the seasons and every stage's section."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from spectm.config.base import RangeText, Strict, load_yaml, validate_model
from spectm.config.data_stages import CubeSection, FetchSection, JoinSection, SamplesSection, TwinSection
from spectm.config.evaluate import MASKING_ALIASES, EvaluateAblation, EvaluateSection
from spectm.config.model_stages import PredictSection, PretrainSection, RegressSection, check_spatial_patches
from spectm.dates import parse_dates, parse_months, seasons
from spectm.errors import ConfigError, SpectmError


class Pipeline(Strict):
    """A pipeline file (``pipelines/*.yaml``): one region, one or several seasons, its stages."""

    name: str
    description: str = ""
    region: str
    dates: RangeText
    months: RangeText | None = Field(
        None,
        description="season months M-N (e.g. 6-10): one season per year of dates "
        "(twin, cube and join use only those days)",
    )
    seasons: list[int] | None = Field(None, min_length=1, description="keep only these seasons (years) of dates")
    data_dir: str | None = None
    mode: Literal["twin", "real"] = "real"
    stages: list[str] = Field(default_factory=lambda: ["samples"])
    fetch: FetchSection = Field(default_factory=FetchSection)
    twin: TwinSection = Field(default_factory=TwinSection)
    samples: SamplesSection = Field(default_factory=SamplesSection)
    cube: CubeSection = Field(default_factory=CubeSection)
    pretrain: PretrainSection = Field(default_factory=PretrainSection)
    join: JoinSection = Field(default_factory=JoinSection)
    regress: RegressSection = Field(default_factory=RegressSection)
    predict: PredictSection = Field(default_factory=PredictSection)
    evaluate: EvaluateSection = Field(default_factory=EvaluateSection)

    @field_validator("dates")
    @classmethod
    def _check_dates(cls, v: str) -> str:
        try:
            parse_dates(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None
        return v

    @field_validator("months")
    @classmethod
    def _check_months(cls, v: str | None) -> str | None:
        try:
            parse_months(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None
        return v

    def season_ranges(self) -> list:
        """The pipeline's seasons (one :class:`~spectm.dates.DateRange` per season)."""
        return seasons(parse_dates(self.dates), parse_months(self.months), self.seasons)

    @model_validator(mode="after")
    def _check(self) -> Pipeline:
        known = {"samples", "twin", "fetch", "cube", "join", "pretrain", "regress", "evaluate", "predict"}
        bad = [s for s in self.stages if s not in known]
        if bad:
            raise ValueError(f"unknown stage(s) {bad}; known stages: {sorted(known)}")
        pre = self.pretrain
        if "pretrain" in self.stages and pre.chips is None and pre.features == self.join.name:
            chip, patch = self.join.chip_size, pre.model.patch_size
            try:
                check_spatial_patches(pre.masking.strategies, (chip // patch) ** 2, chip, patch)
            except ConfigError as exc:
                raise ValueError(f"{exc.message}; {exc.remedy}") from None
        ab = self.evaluate.ablation
        if "evaluate" in self.stages and "ablation" in self.evaluate.experiments and pre.chips is None:
            self._check_ablation_patches(ab)
        return self

    def _check_ablation_patches(self, ab: EvaluateAblation) -> None:
        """Every ablation cell with a spatial stage needs several patches per chip of the store it trains on."""
        if self.pretrain.features != self.join.name:
            return  # the variants train on another store: its chip size is checked when they train
        chip = self.join.chip_size
        patch = (ab.model or self.pretrain.model).patch_size
        for cell in ab.masking:
            strategies = [MASKING_ALIASES.get(m, m) for m in cell.split("+")]
            try:
                check_spatial_patches(strategies, (chip // patch) ** 2, chip, patch)
            except ConfigError as exc:
                remedy = "set evaluate.ablation.model (e.g. {patch_size: 4, band_group: 4}) or drop the cell"
                raise ValueError(f"evaluate.ablation cell '{cell}': {exc.message}; {remedy}") from None


def load_pipeline(path: Path | str) -> Pipeline:
    """Load and validate a pipeline YAML file."""
    path = Path(path)
    return validate_model(Pipeline, load_yaml(path), path)
