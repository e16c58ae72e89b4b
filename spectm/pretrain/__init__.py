"""The pretrain stage: a wavelength-aware spectral masked autoencoder and its pretraining.

Public API: :func:`pretrain_run` (what ``spectm train pretrain`` calls),
:class:`Pretrainer`, :class:`SpectralMAE`, :class:`ChipDataset`, the masking functions in
:mod:`spectm.pretrain.masking`, and :func:`make_synthetic_chips`. Imports are lazy so
``import spectm.pretrain`` stays cheap (torch loads on first use).
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

_EXPORTS = {
    "pretrain_run": "spectm.pretrain.run",
    "Pretrainer": "spectm.pretrain.train",
    "PretrainResult": "spectm.pretrain.result",
    "pretrain_run_id": "spectm.pretrain.run",
    "SpectralMAE": "spectm.pretrain.mae",
    "MAEConfig": "spectm.pretrain.mae",
    "ChipDataset": "spectm.pretrain.data",
    "make_synthetic_chips": "spectm.pretrain.synthetic",
    "write_chips_store": "spectm.pretrain.synthetic",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
