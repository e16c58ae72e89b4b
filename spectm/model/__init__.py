"""The model stage: a wavelength-aware spectral masked autoencoder and its pretraining.

Public API: :func:`pretrain_run` (what ``spectm train pretrain`` calls),
:class:`Pretrainer`, :class:`SpectralMAE`, :class:`ChipDataset`, the masking functions in
:mod:`spectm.model.masking`, and :func:`make_synthetic_chips`. Imports are lazy so
``import spectm.model`` stays cheap (torch loads on first use).
"""

from __future__ import annotations

from typing import Any

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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
