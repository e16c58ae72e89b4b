"""``spectm predict``: microcystin map cubes and quick-look PNGs from a trained regressor."""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use, so that `spectm --help` (which imports this package for its CLI) stays light
_EXPORTS = {
    "PredictResult": "spectm.predict.predict_result",
    "predict_maps": "spectm.predict.maps",
    "read_manifest": "spectm.predict.maps",
    "ChipPredictor": "spectm.predict.regressor",
    "resolve_checkpoint": "spectm.predict.regressor",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
