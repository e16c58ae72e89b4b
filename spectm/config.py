"""Pydantic models for catalogs (regions, sources) and pipelines.

Every model forbids unknown keys (``extra="forbid"``): a typo in a YAML file is
an error naming the key and the file, never a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spectm.errors import ConfigError


class Strict(BaseModel):
    """Base model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


# --------------------------------------------------------------------------- regions


class Region(Strict):
    """A named area of interest: a lake or part of one (``catalogs/regions/*.yaml``)."""

    name: str
    title: str = ""
    bbox: tuple[float, float, float, float] = Field(description="W, S, E, N in degrees (EPSG:4326)")
    crs: str = Field(description="projected CRS of the analysis grid, e.g. EPSG:32617")
    resolution: dict[str, float] = Field(
        default_factory=lambda: {"pace": 1000.0, "s2": 20.0},
        description="grid cell size in metres per sensor",
    )
    water: str | None = Field(None, description="GeoJSON file (relative to the region file) of the water polygon")
    s2_tiles: list[str] = Field(default_factory=list, description="MGRS tiles covering the region")
    stations: str | None = Field(None, description="station table name in catalogs/stations")
    timezone: str = "America/New_York"
    source_file: str | None = Field(None, exclude=True)

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        from spectm.aoi import validate_bbox
        from spectm.errors import SpectmError

        try:
            return validate_bbox(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None

    @field_validator("resolution")
    @classmethod
    def _check_res(cls, v: dict[str, float]) -> dict[str, float]:
        for k, r in v.items():
            if r <= 0:
                raise ValueError(f"resolution for {k!r} must be positive, got {r}")
        return v


# --------------------------------------------------------------------------- sources


class EarthaccessSource(Strict):
    """A NASA CMR collection searched and downloaded through earthaccess."""

    name: str
    kind: Literal["earthaccess"]
    title: str = ""
    sensor: Literal["pace"] = "pace"
    product: Literal["L2_AOP", "L2_BGC", "L2_IOP", "L3M"]
    short_name: str
    nrt_short_name: str | None = None
    fallback_short_names: list[str] = Field(default_factory=list)
    version: str
    provider: str = "OB_CLOUD"
    granule_name: str | None = None
    doi: str | None = None


class StacSource(Strict):
    """A STAC API collection searched with pystac-client."""

    name: str
    kind: Literal["stac"]
    title: str = ""
    sensor: Literal["s2"] = "s2"
    url: str
    collection: str
    assets: list[str]
    signing: Literal["none", "planetary_computer"] = "none"
    tile_property: str = "grid:code"
    tile_prefix: str = "MGRS-"
    offset_rule: Literal["raster_bands", "baseline"] = "raster_bands"


Source = Annotated[EarthaccessSource | StacSource, Field(discriminator="kind")]


# --------------------------------------------------------------------------- pipelines


class FetchSection(Strict):
    sources: list[str] = Field(default_factory=lambda: ["pace_oci_l2_aop", "s2_earth_search"])
    max_cloud_cover: float = Field(80.0, ge=0, le=100)
    threads: int = Field(4, ge=1, le=32)
    clip: bool = True


class TwinSection(Strict):
    seed: int = 0
    pace_resolution_m: float = Field(1200.0, gt=0)
    s2_resolution_m: float = Field(60.0, gt=0)
    s2_revisit_days: int = Field(5, ge=1)
    workers: int | None = Field(
        None, ge=1, description="processes simulating seasons at once (default: one per core, at most 4)"
    )


class CubeSection(Strict):
    """``cube:`` — the ``cube`` stage (``spectm build-cube``; docs/cube.md). ``None`` = the region's default."""

    sensors: list[Literal["pace", "s2"]] = Field(default_factory=lambda: ["pace", "s2"], min_length=1)
    pace_resolution_m: float | None = Field(None, gt=0, description="PACE grid cell (default: the region's)")
    s2_resolution_m: float | None = Field(None, gt=0, description="Sentinel-2 grid cell (default: the region's)")
    flags: list[str] | None = Field(None, description="l2_flags names that mask a PACE pixel (default: NASA's L3 mask)")
    scheduler: str | None = Field(None, description="address of an existing Dask scheduler (default: a LocalCluster)")
    workers: int | None = Field(None, ge=1, description="LocalCluster workers (default: automatic)")
    memory_limit: str = Field("2GB", description="LocalCluster memory limit per worker")


class SamplesSection(Strict):
    files: list[str] = Field(default_factory=list, description="GLERL CSVs (empty: the bundled copies)")
    column_map: str | None = None


# --------------------------------------------------------------------------- pretrain (spectm.model)


class PretrainModel(Strict):
    """SpectralMAE size (docs/model.md). The default (~1.5 M parameters) trains on a laptop CPU."""

    patch_size: int = Field(4, ge=1, description="spatial patch side in pixels; must divide the chip size")
    dim: int = Field(128, ge=8)
    depth: int = Field(6, ge=1)
    heads: int = Field(4, ge=1)
    mlp_ratio: float = Field(4.0, gt=0)
    decoder_dim: int = Field(96, ge=8)
    decoder_depth: int = Field(2, ge=1)
    decoder_heads: int = Field(4, ge=1)
    wavelength_freqs: int = Field(16, ge=1, description="Fourier frequencies of the wavelength encoding")
    dropout: float = Field(0.0, ge=0, lt=1)
    interp_prior: bool = Field(
        True,
        description="reconstruct hidden bands as a correction to linear interpolation "
        "across the visible bands (docs/model.md)",
    )
    band_group: int = Field(
        1,
        ge=1,
        le=16,
        description="adjacent bands per token (1: one token per band); groups never straddle the targeted "
        "windows, so SpecTM's mask stays exact (docs/model.md, Grouped bands)",
    )


class RandomMasking(Strict):
    ratio: float | Literal["match_targeted"] = Field(
        0.75,
        description="share of tokens hidden; match_targeted: the share the spectral-targeted windows hide "
        "on the same bands (46/172 on PACE), so an ablation compares strategies at one ratio",
    )

    @field_validator("ratio")
    @classmethod
    def _ratio(cls, v: float | str) -> float | str:
        if isinstance(v, float) and not 0.0 <= v < 1.0:
            raise ValueError(f"ratio must be in [0, 1) or 'match_targeted', got {v}")
        return v


class TargetedMasking(Strict):
    windows_nm: list[tuple[float, float]] = Field(
        default_factory=lambda: [(615.0, 640.0), (660.0, 680.0), (695.0, 720.0)],
        description="hidden bands: nominal (rounded) centre wavelength inside any window",
    )
    extra_random_ratio: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="share of the other tokens also hidden at random "
        "(0: SpecTM's deterministic mask; 0.5 was spectm's earlier default)",
    )


class SpatialSpectralMasking(Strict):
    spatial_ratio: float = Field(0.5, ge=0, lt=1)
    spectral_ratio: float = Field(0.5, ge=0, lt=1)


class IndexGuidedMasking(Strict):
    ratio_start: float = Field(0.75, ge=0, lt=1)
    ratio_end: float = Field(0.9, ge=0, lt=1)
    curriculum_steps: int | None = Field(None, ge=0, description="steps of the easy→hard ramp; null: half the run")
    alpha: float = Field(1.0, ge=0, description="weight of the heterogeneity (std) term of the saliency")
    indices: list[str] = Field(default_factory=lambda: ["ndci", "ci"])


class PretrainMasking(Strict):
    strategies: list[Literal["random", "spectral-targeted", "spatial-spectral", "index-guided"]] = Field(
        default_factory=lambda: ["spectral-targeted"], min_length=1, description="combined by union"
    )
    random: RandomMasking = Field(default_factory=RandomMasking)
    spectral_targeted: TargetedMasking = Field(default_factory=TargetedMasking)
    spatial_spectral: SpatialSpectralMasking = Field(default_factory=SpatialSpectralMasking)
    index_guided: IndexGuidedMasking = Field(default_factory=IndexGuidedMasking)


PRETRAIN_TASKS = {"rec": "reconstruction", "idx": "indices", "fut": "future"}
"""Short task names (run labels, the ablation's cells) → their ``pretrain.loss`` weight keys."""


class PretrainLoss(Strict):
    reconstruction: float = Field(1.0, ge=0)
    indices: float = Field(0.5, ge=0)
    future: float = Field(0.5, ge=0)
    index_names: list[str] = Field(default_factory=lambda: ["ci", "ss665", "ndci"])
    artefact_band_weight: float = Field(0.1, ge=0, le=1, description="loss weight of the 686–694 nm bands")
    artefact_window_nm: tuple[float, float] = (686.0, 694.0)
    weighting: Literal["fixed", "uncertainty"] = Field(
        "fixed",
        description="fixed: the weights above; uncertainty: learned homoscedastic task-uncertainty weights "
        "(Kendall et al. 2018) over the tasks whose weight is > 0 (docs/model.md)",
    )


class PretrainSection(Strict):
    """``pretrain:`` — self-supervised pretraining (``spectm train pretrain``; docs/model.md)."""

    features: str = Field("default", description="feature store name: reads features/<name>/chips.zarr")
    chips: str | None = Field(None, description="explicit chips store path (overrides features)")
    seed: int = 0
    epochs: int = Field(50, ge=1)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    batch_size: int = Field(32, ge=1, description="global batch (split over DDP processes)")
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.05, ge=0, le=1)
    grad_clip: float | None = Field(1.0, gt=0)
    amp: Literal["auto", "bf16", "off"] = "auto"
    compile: bool = False
    num_workers: int = Field(2, ge=0)
    prefetch_factor: int = Field(4, ge=1)
    deterministic: bool = False
    cpu_threads: int | None = Field(None, ge=1)
    log_every: int = Field(10, ge=1)
    val_every: int = Field(0, ge=0, description="validate every N steps; 0 = once per epoch")
    checkpoint_every: int = Field(0, ge=0, description="checkpoint every N steps; 0 = once per epoch")
    early_stopping_patience: int = Field(10, ge=0, description="validations without improvement; 0 = off")
    max_in_memory_gb: float = Field(2.0, ge=0)
    report_spectra: int = Field(4, ge=1)
    baseline_max_pixels: int = Field(4096, ge=1)
    model: PretrainModel = Field(default_factory=PretrainModel)
    masking: PretrainMasking = Field(default_factory=PretrainMasking)
    loss: PretrainLoss = Field(default_factory=PretrainLoss)
    downstream_bands: Literal["visible", "reconstructed"] = Field(
        "visible",
        description="what the encoder gets downstream for the bands it never saw in pretraining (the "
        "spectral-targeted windows): visible = only the bands it saw; reconstructed = those "
        "bands filled from the decoder's reconstruction (docs/model.md)",
    )


# --------------------------------------------------------------------------- join (spectm.features)


class JoinSection(Strict):
    """``join:`` — match-ups and the feature store (``spectm join``; docs/features.md)."""

    name: str = Field("default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="features/<name>/")
    cube: str | None = Field(None, description="cube region name (cubes/<cube>_<sensor>.zarr); default: the only one")
    sensor: Literal["pace", "s2"] = "pace"
    time_window_days: int = Field(1, ge=0, le=7, description="|local-date offset| allowed around the target day")
    lead_days: int = Field(8, ge=1, le=30, description="ahead horizon: imagery this many days before the sample")
    pixel_window: int = Field(3, ge=1, le=15, description="odd side of the square pixel window")
    min_valid_fraction: float = Field(0.5, gt=0, le=1, description="valid pixels / window pixels")
    aggregation: Literal["median", "mean"] = "median"
    include_scum: bool = False
    label: str = Field("pmc_ugL", description="samples column a sample must have (value or censored)")
    chip_size: int = Field(8, ge=2, le=256)
    chip_time: int = Field(1, ge=1, le=16, description="time steps per chip (the last is 'now')")
    chip_lookback_days: int = Field(24, ge=0, description="how far back history steps may be searched")
    chip_min_valid: float = Field(0.5, gt=0, le=1, description="valid share of a chip (history, unlabeled)")
    unlabeled_per_date: int = Field(32, ge=0, description="unlabeled pretraining chips per cube date (0: none)")
    min_water_fraction: float = Field(0.5, gt=0, le=1, description="water share of an unlabeled chip")
    seed: int = 0
    split: Literal["auto", "season", "period", "time", "station"] = Field(
        "auto",
        description="auto: season when the samples cover ≥ 3 seasons, else period; season: whole "
        "seasons; period: contiguous train/val/test per season; time: date blocks; station",
    )
    val_seasons: list[int] = Field(
        default_factory=list, description="season split: validation season(s) (default: the one before the test season)"
    )
    test_seasons: list[int] = Field(
        default_factory=list, description="season split: test season(s) (default: the last season)"
    )
    period_fractions: tuple[float, float, float] = Field(
        (0.6, 0.2, 0.2), description="period split: shares of each season's sampling days (train, val, test)"
    )
    block_days: int = Field(14, ge=0, description="time split: block length in days (0: one block per season)")
    test_stations: list[str] = Field(default_factory=list, description="station split: held-out stations")
    val_stations: list[str] = Field(default_factory=list)
    buffer_km: float = Field(2.0, ge=0, description="leakage buffer in space")
    buffer_days: int = Field(2, ge=0, description="leakage buffer in time")

    @field_validator("pixel_window")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 != 1:
            raise ValueError(f"pixel_window must be odd (1, 3, 5, ...), got {v}")
        return v

    @field_validator("period_fractions")
    @classmethod
    def _fractions(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(v) <= 0 or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(f"period_fractions must be three positive shares summing to 1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _chip_holds_window(self) -> JoinSection:
        if self.chip_size < self.pixel_window:
            raise ValueError(f"chip_size {self.chip_size} is smaller than pixel_window {self.pixel_window}")
        return self


# --------------------------------------------------------------------------- regress (spectm.regress)

SPECTM_MODELS = ("spectm-frozen", "spectm-finetune")  # need a pretrained encoder
BASELINE_MODELS = ("ridge", "svr", "rf", "gbt")
REGRESS_MODELS = SPECTM_MODELS + BASELINE_MODELS


class RegressSection(Strict):
    """``regress:`` — microcystin regression and baselines (``spectm train regress``; docs/regress.md)."""

    features: str = Field("default", description="feature store name: features/<name>/")
    encoder: str | None = Field(
        None,
        description="pretrain run id or directory (default: the pipeline's latest complete <pipeline>-pretrain- run)",
    )
    models: list[Literal["spectm-frozen", "spectm-finetune", "ridge", "svr", "rf", "gbt"]] = Field(
        default_factory=lambda: list(REGRESS_MODELS), min_length=1
    )
    horizons: list[Literal["current", "ahead"]] = Field(default_factory=lambda: ["current", "ahead"], min_length=1)
    seed: int = 0
    rows: Literal["chips", "all"] = Field(
        "chips",
        description="chips: every model uses only match-ups with a chip (identical rows for all "
        "models); all: baselines also use match-ups without a chip",
    )
    censoring: Literal["substitute", "one-sided"] = Field(
        "substitute",
        description="torch heads: fit censored labels at LOD/√2 as stored, or a one-sided "
        "loss that only penalises predictions above log10(LOD)",
    )
    head_hidden: int = Field(64, ge=0, description="hidden units of the per-pixel MLP head (0: linear)")
    head_dropout: float = Field(0.1, ge=0, lt=1)
    weight_decay_grid: list[float] = Field(default_factory=lambda: [1e-3, 1e-2, 1e-1], min_length=1)
    frozen_lr: float = Field(3e-3, gt=0)
    frozen_steps: int = Field(400, ge=1, description="full-batch AdamW steps of the frozen head")
    finetune_epochs: int = Field(20, ge=1)
    finetune_lr: float = Field(1e-3, gt=0, description="head learning rate while fine-tuning")
    encoder_lr: float = Field(1e-4, gt=0, description="encoder learning rate while fine-tuning")
    batch_size: int = Field(32, ge=1, description="fine-tuning batch size")
    patience: int = Field(
        40,
        ge=1,
        description="frozen: val checks (every 5 steps) without improvement; "
        "fine-tune: epochs = max(3, patience // 10)",
    )
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    cpu_threads: int | None = Field(
        1,
        ge=1,
        description="threads of torch and the BLAS/OpenMP pools during a fit (restored after); None: library defaults",
    )


# --------------------------------------------------------------------------- predict (spectm.predict)


class PredictSection(Strict):
    """``predict:`` — microcystin maps from a trained regressor (``spectm predict``; docs/predict.md)."""

    checkpoint: str | None = Field(
        None,
        description="regress run id/dir or regressor dir (default: the "
        "pipeline's latest complete <pipeline>-regress- run)",
    )
    model: str | None = Field(
        None, description="which regressor of the run (default: spectm-finetune, else spectm-frozen, else the only one)"
    )
    horizon: Literal["current", "ahead"] = "current"
    dates: str | None = Field(None, description="imagery dates to map (default: the pipeline's dates)")
    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="maps/<name>.zarr (default: the pipeline name)"
    )
    cube: str | None = Field(None, description="cube region name (default: the pipeline's region)")
    min_valid: float = Field(0.25, gt=0, le=1, description="valid share of a tile's water cells")
    overlap: int | None = Field(
        None,
        ge=0,
        description="cells shared by neighbouring tiles, blended (default: half a chip; 0: tiles side by side)",
    )
    batch_size: int = Field(256, ge=1, description="chips per predict_chips call")
    quicklooks: bool = Field(True, description="write maps/<name>/<date>.png")

    @field_validator("dates", mode="before")
    @classmethod
    def _dates_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


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


class Pipeline(Strict):
    """A pipeline file (``pipelines/*.yaml``): one region, one or several seasons, its stages."""

    name: str
    description: str = ""
    region: str
    dates: str
    months: str | None = Field(
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

    @field_validator("dates", mode="before")
    @classmethod
    def _dates_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("dates")
    @classmethod
    def _check_dates(cls, v: str) -> str:
        from spectm.dates import parse_dates
        from spectm.errors import SpectmError

        try:
            parse_dates(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None
        return v

    @field_validator("months", mode="before")
    @classmethod
    def _months_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("months")
    @classmethod
    def _check_months(cls, v: str | None) -> str | None:
        from spectm.dates import parse_months
        from spectm.errors import SpectmError

        try:
            parse_months(v)
        except SpectmError as exc:
            raise ValueError(exc.message) from None
        return v

    def season_ranges(self) -> list:
        """The pipeline's seasons (one :class:`~spectm.dates.DateRange` per season)."""
        from spectm.dates import parse_dates, parse_months, seasons

        return seasons(parse_dates(self.dates), parse_months(self.months), self.seasons)

    @model_validator(mode="after")
    def _check(self) -> Pipeline:
        known = {"samples", "twin", "fetch", "cube", "join", "pretrain", "regress", "evaluate", "predict"}
        bad = [s for s in self.stages if s not in known]
        if bad:
            raise ValueError(f"unknown stage(s) {bad}; known stages: {sorted(known)}")
        pre = self.pretrain
        if "pretrain" in self.stages and pre.chips is None and pre.features == self.join.name:
            from spectm.model.masking import check_spatial_patches

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
        from spectm.model.masking import check_spatial_patches

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


M = TypeVar("M", bound=BaseModel)


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<top level>"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        elif err["type"] == "missing":
            parts.append(f"missing key '{loc}'")
        else:
            parts.append(f"'{loc}': {err['msg']}")
    return "; ".join(parts)


def load_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax problems into :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", "check the path") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", "check the file's permissions") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the YAML syntax") from None


def validate_model(model: type[M], data: Any, path: Path | str) -> M:
    """Validate ``data`` against ``model``; errors name the key and the file."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping of keys, found {type(data).__name__}", "see the examples in pipelines/"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{path}: {_format_validation(exc)}", "fix or remove the key (see the README's configuration section)"
        ) from None


def load_pipeline(path: Path | str) -> Pipeline:
    """Load and validate a pipeline YAML file."""
    path = Path(path)
    return validate_model(Pipeline, load_yaml(path), path)
