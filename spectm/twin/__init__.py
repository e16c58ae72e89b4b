"""The Lake Erie twin: offline PACE OCI, Sentinel-2 and samples, laid out as ``fetch`` writes them.

See docs/twin.md. The public entry point is :func:`generate_twin`.
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use, so that `spectm --help` (which imports this package for its CLI) stays light
_EXPORTS = {
    "TwinResult": "spectm.twin.generate",
    "generate_twin": "spectm.twin.generate",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
