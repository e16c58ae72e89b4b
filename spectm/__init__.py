"""spectm: satellite + in-situ data preparation and masked-autoencoder training for lake HAB science.

The Python API mirrors the CLI: each command is one function (``spectm.ingest_samples``,
``spectm.generate_twin``, ...). They are imported lazily so ``import spectm`` stays fast.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr
from spectm._version import __version__

_API = {
    "parse_bbox": "spectm.aoi",
    "parse_dates": "spectm.dates",
    "load_pipeline": "spectm.config",
    "ingest_samples": "spectm.samples",
    "generate_twin": "spectm.twin",
}

__all__ = ["__version__", *_API]

__getattr__ = lazy_getattr(__name__, _API)
