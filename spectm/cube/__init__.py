"""``spectm build-cube``: the local STAC catalog → analysis-ready Zarr v3 cubes.

Public API: :func:`build_cube`, :class:`CubeResult`, :func:`open_cube`,
:func:`cube_info`, :func:`verify_cube`, :func:`quicklook`, :func:`aggregate_store`
(S2 on the PACE grid).
"""

from __future__ import annotations

from spectm._lazy import lazy_getattr

# imported on first use, so that `spectm --help` (which imports this package for its CLI) stays light
_EXPORTS = {
    "CubeResult": "spectm.cube.build",
    "SensorResult": "spectm.cube.build",
    "build_cube": "spectm.cube.build",
    "cube_path": "spectm.cube.build",
    "aggregate_store": "spectm.cube.fusion",
    "cube_info": "spectm.cube.inspect",
    "quicklook": "spectm.cube.inspect",
    "verify_cube": "spectm.cube.inspect",
    "open_cube": "spectm.cube.store",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
