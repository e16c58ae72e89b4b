"""Pydantic models for catalogs (regions, sources) and pipelines, one module per family.

``from spectm.config import X`` is the public way in; the modules split the models along
their seams so each stays readable:

- :mod:`spectm.config.base` — the strict base model and YAML loading with one-line errors;
- :mod:`spectm.config.catalog` — regions and data sources (``catalogs/``);
- :mod:`spectm.config.data_stages` — the fetch, twin, cube, samples and join sections;
- :mod:`spectm.config.model_stages` — the pretrain, regress and predict sections;
- :mod:`spectm.config.evaluate` — the evaluation protocol's section;
- :mod:`spectm.config.pipeline` — a whole pipeline file and :func:`load_pipeline`.
"""

from __future__ import annotations

from spectm.config.base import Strict, _format_validation, load_yaml, validate_model
from spectm.config.catalog import EarthaccessSource, Region, Source, StacSource
from spectm.config.data_stages import CubeSection, FetchSection, JoinSection, SamplesSection, TwinSection
from spectm.config.evaluate import (
    EVALUATE_TASKS,
    MASKING_ALIASES,
    MASKING_STRATEGIES,
    REFERENCE_KINDS,
    EvaluateAblation,
    EvaluateSection,
)
from spectm.config.model_stages import (
    BASELINE_MODELS,
    PRETRAIN_TASKS,
    REGRESS_MODELS,
    SPECTM_MODELS,
    IndexGuidedMasking,
    PredictSection,
    PretrainLoss,
    PretrainMasking,
    PretrainModel,
    PretrainSection,
    RandomMasking,
    RegressSection,
    SpatialSpectralMasking,
    TargetedMasking,
)
from spectm.config.pipeline import Pipeline, load_pipeline

__all__ = [
    "BASELINE_MODELS",
    "EVALUATE_TASKS",
    "MASKING_ALIASES",
    "MASKING_STRATEGIES",
    "PRETRAIN_TASKS",
    "REFERENCE_KINDS",
    "REGRESS_MODELS",
    "SPECTM_MODELS",
    "CubeSection",
    "EarthaccessSource",
    "EvaluateAblation",
    "EvaluateSection",
    "FetchSection",
    "IndexGuidedMasking",
    "JoinSection",
    "Pipeline",
    "PredictSection",
    "PretrainLoss",
    "PretrainMasking",
    "PretrainModel",
    "PretrainSection",
    "RandomMasking",
    "Region",
    "RegressSection",
    "SamplesSection",
    "Source",
    "SpatialSpectralMasking",
    "StacSource",
    "Strict",
    "TargetedMasking",
    "TwinSection",
    "_format_validation",
    "load_pipeline",
    "load_yaml",
    "validate_model",
]
