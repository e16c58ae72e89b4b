"""The Lake Erie twin: offline PACE OCI, Sentinel-2 and samples, laid out as ``fetch`` writes them.

See docs/twin.md. The public entry point is :func:`generate_twin`.
"""

from __future__ import annotations

from spectm.twin.generate import TwinResult, generate_twin

__all__ = ["TwinResult", "generate_twin"]
