"""The ``evaluate:`` pipeline section: the evaluation protocol's experiments and ablation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from spectm.config.base import Strict
from spectm.config.model_stages import REGRESS_MODELS, PretrainModel

# --------------------------------------------------------------------------- evaluate (spectm.evaluate)

EVALUATE_TASKS = ("rec", "idx", "fut")
MASKING_STRATEGIES = ("random", "spectral-targeted", "spatial-spectral", "index-guided")
# the ablation's names for the papers' masking families → the pretraining strategy that implements each
MASKING_ALIASES = {"laprade": "spatial-spectral", "sigmae": "index-guided"}
REFERENCE_KINDS = ("climatology", "ceiling", "ceiling-chl")


class EvaluateAblation(Strict):
    """``evaluate.ablation`` — pretraining variants: every masking × tasks cell is a short pretraining run."""

    masking: list[str] = Field(
        default_factory=lambda: ["random", "spectral-targeted", "laprade", "sigmae"],
        min_length=1,
        description="masking strategies of a variant, several joined by '+' "
        "(laprade = spatial-spectral, sigmae = index-guided)",
    )
    tasks: list[str] = Field(
        default_factory=lambda: ["rec", "rec+idx+fut"],
        min_length=1,
        description="pretraining tasks with weight > 0 (rec, idx, fut joined by '+')",
    )
    models: list[Literal["spectm-frozen", "spectm-finetune"]] = Field(
        default_factory=lambda: ["spectm-frozen"], min_length=1
    )
    random_ratio: float | Literal["match_targeted"] = Field(
        "match_targeted",
        description="share of tokens the random cells hide; match_targeted (default): the share "
        "the spectral-targeted windows hide, so the cells compare strategies, not ratios",
    )
    encoder_seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2],
        min_length=1,
        description="pretraining seeds: every cell is pretrained once per seed",
    )
    max_steps: int | None = Field(300, ge=1, description="pretraining steps of each variant (None: as pretrain:)")
    epochs: int | None = Field(None, ge=1, description="epochs of each variant (None: as pretrain:)")
    model: PretrainModel | None = Field(
        None,
        description="the model of every variant, replacing pretrain.model (null: pretrain.model), so all "
        "cells share one size and token layout, e.g. patch_size 4 with band_group 4 (docs/model.md)",
    )

    @field_validator("masking")
    @classmethod
    def _masking(cls, v: list[str]) -> list[str]:
        for item in v:
            bad = [s for s in item.split("+") if s not in MASKING_STRATEGIES and s not in MASKING_ALIASES]
            if bad:
                raise ValueError(
                    f"unknown masking strategy {bad} in {item!r}; known: "
                    f"{list(MASKING_STRATEGIES) + list(MASKING_ALIASES)}"
                )
        return v

    @field_validator("encoder_seeds")
    @classmethod
    def _encoder_seeds(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError(f"encoder_seeds must be distinct, got {v}")
        return v

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        for item in v:
            parts = item.split("+")
            if not item or any(t not in EVALUATE_TASKS for t in parts) or len(set(parts)) != len(parts):
                raise ValueError(f"tasks {item!r} must be distinct names from {list(EVALUATE_TASKS)} joined by '+'")
        return v


class EvaluateSection(Strict):
    """``evaluate:`` — SpecTM's evaluation protocol (``spectm evaluate run``; docs/evaluate.md)."""

    features: str | None = Field(None, description="feature store name (default: regress.features)")
    encoder: str | None = Field(
        None,
        description="pretrain run id or directory (default: regress.encoder, "
        "else the latest complete <pipeline>-pretrain- run)",
    )
    experiments: list[Literal["main", "ablation", "label_efficiency"]] = Field(
        default_factory=lambda: ["main", "ablation", "label_efficiency"], min_length=1
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    label_fractions: list[float] = Field(default_factory=lambda: [0.05, 0.1, 0.25, 0.5, 1.0], min_length=1)
    horizons: list[Literal["current", "ahead"]] = Field(default_factory=lambda: ["current", "ahead"], min_length=1)
    models: list[Literal["spectm-frozen", "spectm-finetune", "ridge", "svr", "rf", "gbt"]] = Field(
        default_factory=lambda: list(REGRESS_MODELS), min_length=1
    )
    label_efficiency_models: list[Literal["spectm-frozen", "spectm-finetune", "ridge", "svr", "rf", "gbt"]] | None = (
        Field(None, description="models of the label-efficiency curves (default: models)")
    )
    references: list[Literal["climatology", "ceiling", "ceiling-chl"]] = Field(
        default_factory=lambda: list(REFERENCE_KINDS),
        description="reference rows of the main table: climatology (train mean per week of the year), ceiling "
        "(regressors on measured chlorophyll + phycocyanin), ceiling-chl (chlorophyll alone)",
    )
    ceiling_models: list[Literal["ridge", "svr", "rf", "gbt"]] | None = Field(
        None, description="regressors of the ceiling rows (default: the baselines in models, else ridge)"
    )
    cv: Literal["none", "seasons"] = Field(
        "none", description="seasons: leave-one-season-out — every fit once per season held out (needs ≥ 3 seasons)"
    )
    ablation: EvaluateAblation = Field(default_factory=EvaluateAblation)
    split: Literal["test", "val"] = Field("test", description="split the tables are computed on")
    bootstrap: int = Field(1000, ge=0, description="week-bootstrap resamples of the intervals (0: none)")
    bootstrap_seed: int = 0

    @field_validator("label_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        bad = [f for f in v if not 0 < f <= 1]
        if bad:
            raise ValueError(f"label fractions must be in (0, 1], got {bad}")
        return sorted(set(v))

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct, got {v}")
        return v
