"""The model stage: a wavelength-aware spectral masked autoencoder and its pretraining.

Public API: :func:`pretrain_run` (what ``spectm train pretrain`` calls),
:class:`Pretrainer`, :class:`SpectralMAE`, :class:`ChipDataset`, the masking functions in
:mod:`spectm.model.masking`, and :func:`make_synthetic_chips`. Imports are lazy so
``import spectm.model`` stays cheap (torch loads on first use).
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

_EXPORTS = {
    "pretrain_run": "spectm.model.run",
    "Pretrainer": "spectm.model.train",
    "PretrainResult": "spectm.model.train",
    "SpectralMAE": "spectm.model.mae",
    "MAEConfig": "spectm.model.mae",
    "ChipDataset": "spectm.model.data",
    "make_synthetic_chips": "spectm.model.synthetic",
    "write_chips_store": "spectm.model.synthetic",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
