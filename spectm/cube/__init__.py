"""``spectm build-cube``: the local STAC catalog → analysis-ready Zarr v3 cubes.

Public API: :func:`build_cube`, :class:`CubeResult`, :func:`open_cube`,
:func:`cube_info`, :func:`verify_cube`, :func:`quicklook`.
"""

from spectm.cube.build import CubeResult, SensorResult, build_cube, cube_path
from spectm.cube.store import open_cube

__all__ = ["CubeResult", "SensorResult", "build_cube", "cube_path", "open_cube"]
