"""What a pretraining run trains on: the chips' train and val splits, their bands and the indices they allow.

Checked against the config before a model is built, so a run that cannot work (a batch larger
than the training set, indices the sensor's bands cannot compute, a masking strategy the chip
is too small for) stops with a reason instead of failing mid-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spectm.config import PretrainSection
from spectm.console import log
from spectm.errors import BadInputError, ConfigError
from spectm.pretrain.data import ChipDataset
from spectm.pretrain.indices_torch import available_indices
from spectm.pretrain.mae import MAEConfig
from spectm.pretrain.masking import check_spatial_patches


@dataclass
class PretrainInputs:
    train_ds: ChipDataset
    val_ds: ChipDataset | None
    chips_path: str
    wavelengths: list[float]
    index_names: list[str]


def load_inputs(cfg: PretrainSection, chips: Path | ChipDataset, val: ChipDataset | None, world: int) -> PretrainInputs:
    """The splits (from the chips store, or given in memory) and the indices their bands allow;
    ``cfg.masking.index_guided.indices`` is narrowed to those."""
    if isinstance(chips, ChipDataset):
        train_ds, val_ds, chips_path = chips, val, "<in memory>"
    else:
        max_bytes = int(cfg.max_in_memory_gb * (1 << 30))
        train_ds = ChipDataset.from_zarr(chips, "train", max_bytes)
        val_ds = ChipDataset.from_zarr(chips, "val", max_bytes)
        chips_path = str(chips)
    if val_ds is not None and len(val_ds) == 0:
        log.warning("the chips store has no 'val' chips: no validation, no early stopping")
        val_ds = None
    wavelengths = [float(w) for w in train_ds.wavelengths]
    index_names = available_indices(wavelengths, cfg.loss.index_names)
    dropped = [n for n in cfg.loss.index_names if n not in index_names]
    if dropped:
        log.warning("indices %s need bands this sensor lacks; index targets use %s", dropped, index_names)
    if "index-guided" in cfg.masking.strategies:
        ig = available_indices(wavelengths, cfg.masking.index_guided.indices)
        if not ig:
            raise ConfigError(
                "index-guided masking: none of its indices can be computed from these bands",
                "set pretrain.masking.index_guided.indices to indices the sensor supports",
            )
        cfg.masking.index_guided.indices = ig
    _check_batches(cfg, train_ds, world)
    return PretrainInputs(train_ds, val_ds, chips_path, wavelengths, index_names)


def _check_batches(cfg: PretrainSection, train_ds: ChipDataset, world: int) -> None:
    """Batch size against the processes and the training set; patches against the chip."""
    if cfg.batch_size % world:
        raise ConfigError(
            f"batch_size {cfg.batch_size} is not divisible by {world} processes",
            "use a global batch size that is a multiple of the process count",
        )
    if len(train_ds) < cfg.batch_size:
        raise BadInputError(
            f"{len(train_ds)} training chips is fewer than one batch ({cfg.batch_size})",
            "lower pretrain.batch_size or add chips",
        )
    _, t_steps, _, chip_h, chip_w = train_ds.shape
    p = cfg.model.patch_size
    check_spatial_patches(cfg.masking.strategies, (chip_h // p) * (chip_w // p), chip_h, p)
    if t_steps < 2 and cfg.loss.future > 0:
        log.warning(
            "chips hold one time step: the 8-day-ahead task has no trend to learn from; "
            "cut chips with join.chip_time 2 or more"
        )


__all__ = ["PretrainInputs", "load_inputs"]


def model_config(cfg: PretrainSection, n_indices: int) -> MAEConfig:
    """The model's config; grouped tokens record the windows their group edges follow (the masking's)."""
    windows = (
        [list(map(float, w)) for w in cfg.masking.spectral_targeted.windows_nm] if cfg.model.band_group > 1 else None
    )
    return MAEConfig(**cfg.model.model_dump(), n_indices=n_indices, group_windows=windows)
