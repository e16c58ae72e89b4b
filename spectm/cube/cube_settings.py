"""The settings that decide a cube's values, their hash, and where each sensor's cube lives.

Shared by the build (:mod:`spectm.cube.build`), its dry run (:mod:`spectm.cube.plan`) and
``spectm cube inspect``: a cube records the hash of these settings, and a build with other
settings refuses to extend it rather than mix two kinds of slices in one store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from spectm.aoi import AOI
from spectm.cube.cube_attrs import ALGORITHM_VERSION
from spectm.cube.flags import parse_flag_names
from spectm.cube.regrid import default_radius
from spectm.cube.s2_cube import DEFAULT_BANDS, DEFAULT_MASK_CLASSES
from spectm.errors import BadInputError
from spectm.provenance import config_key

SENSORS = ("pace", "s2")


def config_hash(settings: dict) -> str:
    """Hash of the settings that change the cube's values (not paths, schedulers)."""
    return config_key(settings, 12, separators=(", ", ": "))  # the spacing of the keys cubes already carry


def cubes_dir(data_dir: Path | str) -> Path:
    """``<data-dir>/cubes``: every cube store lives here, named ``<region>_<sensor>.zarr``."""
    return Path(data_dir) / "cubes"


def named_cube_path(data_dir: Path | str, region: str, sensor: str) -> Path:
    return cubes_dir(data_dir) / f"{region}_{sensor}.zarr"


def cube_path(data_dir: Path, aoi: AOI, sensor: str) -> Path:
    return named_cube_path(data_dir, aoi.name, sensor)


def _sensor_settings(sensor: str, aoi: AOI, resolution: float | None, **kw: object) -> dict:
    res = float(resolution or aoi.resolution.get(sensor, 1000.0 if sensor == "pace" else 20.0))
    s = {
        "sensor": sensor,
        "region": aoi.name,
        "bbox": list(aoi.bbox),
        "crs": aoi.crs,
        "resolution": res,
        "algorithm": ALGORITHM_VERSION,
    }
    s.update({k: v for k, v in kw.items() if v is not None})
    return s


def sensor_settings(
    sensor: str,
    aoi: AOI,
    *,
    flags: object = None,
    resolution: float | None = None,
    radius_m: float | None = None,
    with_unc: bool = True,
    s2_bands: Sequence[str] | None = None,
    s2_mask_classes: Iterable[int] | None = None,
) -> dict:
    """The settings that decide a sensor's cube values (hashed into ``config_hash``)."""
    if sensor == "pace":
        flag_names = parse_flag_names(flags)  # type: ignore[arg-type]
        res0 = float(resolution or aoi.resolution.get("pace", 1000.0))
        radius = float(radius_m or default_radius(res0))
        return _sensor_settings(
            "pace",
            aoi,
            resolution,
            flags=list(flag_names),
            radius_m=radius,
            with_unc=with_unc,
            combine="mean-of-granules",
        )

    bands = list(s2_bands or DEFAULT_BANDS)
    classes = sorted(set(s2_mask_classes or DEFAULT_MASK_CLASSES))
    return _sensor_settings(
        "s2",
        aoi,
        resolution,
        bands=bands,
        mask_classes=classes,
        combine="mean-of-items",
        water_mask=aoi.water is not None,
    )


def settings_by_sensor(
    sensors: Sequence[str],
    aoi: AOI,
    *,
    resolution: float | Mapping[str, float | None] | None = None,
    **kw: object,
) -> dict[str, dict]:
    """:func:`sensor_settings` of each of ``sensors`` (``resolution``: one cell size, or one per
    sensor); an empty or unknown sensor list is refused. The build and its dry run both start here."""
    bad = [s for s in sensors if s not in SENSORS]
    if bad or not sensors:
        raise BadInputError(f"unknown sensor(s) {bad or sensors}", "use --sensor pace, s2 or all")
    per = resolution if isinstance(resolution, Mapping) else dict.fromkeys(sensors, resolution)
    return {s: sensor_settings(s, aoi, resolution=per.get(s), **kw) for s in sensors}  # type: ignore[arg-type]


__all__ = ["SENSORS", "config_hash", "cube_path", "sensor_settings", "settings_by_sensor"]
