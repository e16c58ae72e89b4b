"""Pipeline sections of the model stages: pretrain, regress and predict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from spectm.config.base import RangeText, Strict
from spectm.errors import ConfigError

# --------------------------------------------------------------------------- pretrain (spectm.pretrain)


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


SPATIAL_STRATEGIES = ("spatial-spectral", "index-guided")  # they pick among spatial patches


def check_spatial_patches(strategies: Sequence[str], n_patches: int, chip: int, patch: int) -> None:
    """A spatial masking stage needs several spatial patches to choose from; one is a config error.

    It lives with the config models because a pipeline file is refused on it before any stage
    runs; the pretraining masks (:mod:`spectm.pretrain.masking`) call it again on the chips they get."""
    spatial = [s for s in strategies if s in SPATIAL_STRATEGIES]
    if spatial and n_patches < 2:
        raise ConfigError(
            f"masking {'+'.join(spatial)} chooses among spatial patches, but chips of {chip}×{chip} px with "
            f"patch_size {patch} give {n_patches} patch, so its spatial stage would hide nothing or everything",
            "use a chip size several times the patch size (e.g. join.chip_size 16 with pretrain.model.patch_size 4)",
        )


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
    dates: RangeText | None = Field(None, description="imagery dates to map (default: the pipeline's dates)")
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
