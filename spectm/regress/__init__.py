"""``spectm train regress``: microcystin regression on the feature store, and its baselines.

Public API::

    from spectm.regress import fit_predict, load_regressor
    from spectm.regress.metrics import r2, rmse, mae
    pred = fit_predict("spectm-data", "default", model="spectm-frozen", horizon="current", seed=0,
                       encoder=Path("spectm-data/runs/<pretrain run>"))
    reg = load_regressor("spectm-data/runs/<regress run>/regressor/spectm-frozen_current")
    maps = reg.predict_chips(chips, days)      # (N, H, W) log10 µg/L per pixel

Models: ``spectm-frozen``, ``spectm-finetune`` (pretrained SpectralMAE encoder + per-pixel
head), ``ridge``, ``svr``, ``rf``, ``gbt`` (scikit-learn baselines on spectrum + indices).
See docs/regress.md. Imports are lazy so ``import spectm.regress`` stays cheap.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

_EXPORTS = {
    "fit_predict": "spectm.regress.api",
    "PREDICTION_COLUMNS": "spectm.regress.predictions",
    "load_regressor": "spectm.regress.regressor",
    "SavedRegressor": "spectm.regress.regressor",
    "regress_run": "spectm.regress.run",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
