"""``spectm predict``: microcystin map cubes and quick-look PNGs from a trained regressor."""

from __future__ import annotations

from spectm.predict.maps import PredictResult, predict_maps, read_manifest
from spectm.predict.regressor import Regressor, resolve_checkpoint

__all__ = ["PredictResult", "Regressor", "predict_maps", "read_manifest", "resolve_checkpoint"]
