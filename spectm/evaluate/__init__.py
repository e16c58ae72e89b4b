"""``spectm evaluate``: SpecTM's evaluation protocol, its tables and its plots.

Public API::

    from spectm.evaluate import evaluate_run, build_report, read_predictions
    res = evaluate_run(pipeline, data_dir="spectm-data")  # fits, predictions.parquet, report
    rep = build_report("spectm-data/runs/<id>")          # tables + figures from predictions only

Every table and figure is computed from the stored PREDICTIONS table (docs/evaluate.md).
Imports are lazy so ``import spectm.evaluate`` stays cheap.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

_EXPORTS = {
    "evaluate_run": "spectm.evaluate.run",
    "EvaluateResult": "spectm.evaluate.run",
    "run_stage": "spectm.evaluate.stage",
    "build_report": "spectm.evaluate.report",
    "read_predictions": "spectm.evaluate.schema",
    "validate_predictions": "spectm.evaluate.schema",
    "combinations": "spectm.evaluate.protocol",
    "run_protocol": "spectm.evaluate.protocol",
    "efficiency_ratio": "spectm.evaluate.efficiency",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
