"""``spectm build-cube``: the local STAC catalog → analysis-ready Zarr v3 cubes.

Public API: :func:`build_cube`, :class:`CubeResult`, :func:`open_cube`,
:func:`cube_info`, :func:`verify_cube`, :func:`quicklook`, :func:`aggregate_store`
(S2 on the PACE grid).
"""

from spectm.cube.build import CubeResult, SensorResult, build_cube, cube_path
from spectm.cube.fusion import aggregate_store
from spectm.cube.inspect import cube_info, quicklook, verify_cube
from spectm.cube.store import open_cube

__all__ = [
    "CubeResult",
    "SensorResult",
    "aggregate_store",
    "build_cube",
    "cube_info",
    "cube_path",
    "open_cube",
    "quicklook",
    "verify_cube",
]
