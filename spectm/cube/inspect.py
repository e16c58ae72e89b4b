"""``spectm cube info``, ``verify`` and ``quicklook``: look inside a cube without loading it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from spectm.console import log
from spectm.cube.cube_settings import config_hash, named_cube_path
from spectm.cube.integrity import DIGEST_VAR, damaged_slices
from spectm.cube.store import open_cube, store_size
from spectm.errors import BadInputError

REQUIRED_ATTRS = (
    "title",
    "summary",
    "history",
    "date_created",
    "Conventions",
    "geospatial_lat_min",
    "geospatial_lon_max",
    "time_coverage_start",
    "time_coverage_end",
    "spectm_version",
    "config_hash",
)


def main_var(ds: xr.Dataset) -> str:
    for name in ("rrs", "reflectance"):
        if name in ds:
            return name
    raise BadInputError("the store has neither 'rrs' nor 'reflectance'", "pass a cube written by 'spectm build-cube'")


@dataclass
class CubeInfo:
    path: Path
    sensor: str
    dims: dict[str, int]
    size_bytes: int
    crs: str | None
    rows: list[tuple[str, str, int, float, int]] = field(default_factory=list)  # date, time, complete, coverage, n ids

    def as_dict(self) -> dict:
        return {
            "path": str(self.path),
            "sensor": self.sensor,
            "dims": self.dims,
            "size_bytes": self.size_bytes,
            "crs": self.crs,
            "dates": [
                dict(zip(("date", "time", "complete", "coverage", "n_sources"), r, strict=True)) for r in self.rows
            ],
        }


def cube_info(path: Path | str) -> CubeInfo:
    """Dimensions, size on disk, CRS and per-date coverage (fraction of cells with a valid observation)."""
    path = Path(path)
    ds = open_cube(path)
    complete = ds["slice_complete"].values
    cov = (ds["valid_count"] > 0).mean(("y", "x")).values if ds.sizes.get("time") else []
    ids = ds["source_ids"].values if "source_ids" in ds else [""] * ds.sizes["time"]
    rows = []
    for i, t in enumerate(ds["time"].values):
        ts = np.datetime_as_string(t, unit="s")
        rows.append((ts[:10], ts[11:], int(complete[i]), float(cov[i]), len([s for s in str(ids[i]).split(";") if s])))
    crs = ds.rio.crs
    return CubeInfo(
        path,
        str(ds.attrs.get("spectm_sensor", "?")),
        {k: int(v) for k, v in ds.sizes.items()},
        store_size(path),
        str(crs) if crs else None,
        rows,
    )


def verify_cube(path: Path | str) -> list[str]:
    """Every problem found (empty list: the cube is sound).

    Checked: global attributes present and consistent (``config_hash`` is the hash of
    ``spectm_settings`` and of every slice, ``spectm_sensor`` matches the data variable,
    ``time_coverage_*`` match ``time``), the CRS, time order, completion flags, per-slice
    provenance, every chunk file of every complete slice against the size and digest
    recorded when it was written (:mod:`spectm.cube.integrity`), that every slice
    decodes, and value sanity. Damaged slices are named with their date; ``build-cube
    --repair`` rebuilds them.
    """
    path = Path(path)
    problems: list[str] = []
    try:
        ds = open_cube(path)
        var = main_var(ds)
        t = ds["time"].values
        complete = ds["slice_complete"].values
    except (BadInputError, KeyError) as exc:
        return [f"the store cannot be opened as a cube: {exc}"]
    except Exception as exc:  # a damaged 1-D array (time, flags) fails in its codec
        return [f"the store's coordinates or flags cannot be decoded ({type(exc).__name__}: {exc}): rebuild the cube"]
    problems += _attr_problems(ds, var)
    if ds.rio.crs is None:
        problems.append("no CRS readable by rioxarray (spatial_ref missing)")
    if len(t) and (t.astype("int64") <= 0).any():
        problems.append("time has unset entries (its chunk is missing or was never written): rebuild the cube")
    if len(t) and not (np.diff(t.astype("int64")) > 0).all():
        problems.append("time is not strictly increasing")
    days = [np.datetime64(x, "D") for x in t]
    if len(set(days)) != len(days):
        problems.append("more than one slice for one day")
    inc = set(np.flatnonzero(complete != 1).tolist())
    for i in sorted(inc):
        problems.append(f"slice {i} ({days[i]!s}) is incomplete (interrupted build): re-run build-cube for that date")
    for name in ("source_ids", "config_hash", "software_version"):
        if name not in ds:
            problems.append(f"per-slice provenance '{name}' is missing")
    if DIGEST_VAR not in ds:  # not a fault of the cube: the check is weaker (a deleted chunk reads as no data)
        log.warning(
            "%s has no per-chunk digests ('%s', a cube from an older spectm or an aggregate): only decoding "
            "and values are checked",
            path.name,
            DIGEST_VAR,
        )
    done = [i for i in range(ds.sizes["time"]) if i not in inc]
    damaged = damaged_slices(path, done, deep=True)
    for i, msgs in damaged.items():
        problems += [f"slice {i} ({days[i]!s}) is damaged: {m}" for m in msgs]
    for i in done:
        if i not in damaged:
            problems += [f"slice {i} ({days[i]!s}): {m}" for m in _value_problems(ds, var, i)]
    return problems


def _attr_problems(ds: xr.Dataset, var: str) -> list[str]:

    problems = [f"global attribute '{a}' is missing" for a in REQUIRED_ATTRS if a not in ds.attrs]
    chash = ds.attrs.get("config_hash")
    try:
        settings = json.loads(ds.attrs["spectm_settings"])
    except (KeyError, TypeError, ValueError):
        problems.append("global attribute 'spectm_settings' is missing or not JSON")
        settings = None
    if chash and settings is not None and config_hash(settings) != chash:
        problems.append(
            f"global attribute config_hash {chash} is not the hash of spectm_settings ({config_hash(settings)})"
        )
    if chash and "config_hash" in ds:
        per = {str(v) for v in ds["config_hash"].values if str(v)}
        if per - {chash}:
            problems.append(f"slices were built with config {sorted(per - {chash})}, the store says {chash}")
    sensor = ds.attrs.get("spectm_sensor")
    if sensor is not None and {"pace": "rrs", "s2": "reflectance"}.get(str(sensor)) != var:
        problems.append(f"global attribute spectm_sensor {sensor!r} does not match the data variable '{var}'")
    t = ds["time"].values
    if len(t) and (t.astype("int64") > 0).all():
        for key, want in (("time_coverage_start", t.min()), ("time_coverage_end", t.max())):
            got = ds.attrs.get(key)
            if got is not None and str(got).rstrip("Z") != np.datetime_as_string(want, unit="s"):
                problems.append(
                    f"global attribute {key} {got} does not match time ({np.datetime_as_string(want, unit='s')}Z)"
                )
    return problems


def _value_problems(ds: xr.Dataset, var: str, i: int) -> list[str]:
    problems = []
    try:
        sl = ds[var].isel(time=i).values
        cnt = ds["valid_count"].isel(time=i).values
    except Exception as exc:  # a codec failure on a slice without digests
        return [f"cannot be decoded ({type(exc).__name__})"]
    if (np.isfinite(sl).any(axis=0) & (cnt == 0)).any():
        problems.append("values where valid_count is 0")
    if var == "rrs" and np.nanmin(sl, initial=0) < -0.0101:
        problems.append("Rrs below the valid minimum -0.01")
    if "source_ids" in ds and not str(ds["source_ids"].values[i]):
        problems.append("no source ids")
    return problems


def resolve_cube_path(value: str, data_dir: Path, sensor: str | None = None) -> list[Path]:
    """A store path, or a region name → its cubes in ``<data-dir>/cubes``."""
    p = Path(value)
    if p.exists():
        return [p]
    sensors = [sensor] if sensor else ["pace", "s2"]
    found = [named_cube_path(data_dir, value, s) for s in sensors if named_cube_path(data_dir, value, s).exists()]
    if not found:
        raise BadInputError(
            f"no cube at {value} and no cubes/{value}_<sensor>.zarr in {data_dir}",
            "pass a .zarr path or a region name you built with 'spectm build-cube'",
        )
    return found


def quicklook(path: Path | str, day: date | str | None = None, png: Path | str | None = None) -> Path:
    """A PNG of one date: an RGB composite (PACE 665/555/443 nm; S2 red/green/blue) and the valid count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    ds = open_cube(path)
    var = main_var(ds)
    if ds.sizes["time"] == 0:
        raise BadInputError(f"{path.name} has no time slices", "build it first with 'spectm build-cube'")
    if day is None:
        i = int(ds.sizes["time"]) - 1
    else:
        want = np.datetime64(str(day), "D")
        days = ds["time"].values.astype("datetime64[D]")
        hits = np.flatnonzero(days == want)
        if not hits.size:
            raise BadInputError(
                f"{path.name} has no slice on {day}",
                f"available: {', '.join(str(d) for d in days[:10])}{' …' if len(days) > 10 else ''}",
            )
        i = int(hits[0])
    sl = ds.isel(time=i)
    if var == "rrs":
        rgb = [sl[var].sel(wavelength=w, method="nearest").values for w in (665, 555, 443)]
    else:
        rgb = [sl[var].sel(band=b).values for b in ("red", "green", "blue")]
    img = np.stack(rgb, axis=-1).astype(np.float64)
    finite = np.isfinite(img)
    hi = np.nanpercentile(img, 98) if finite.any() else 1.0
    img = np.clip(np.nan_to_num(img / (hi or 1.0), nan=0.0), 0, 1)
    stamp = np.datetime_as_string(sl["time"].values, unit="m")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), constrained_layout=True)
    ext = [float(ds.x.min()), float(ds.x.max()), float(ds.y.min()), float(ds.y.max())]
    axes[0].imshow(img, extent=ext)
    axes[0].set_title(f"{path.stem} {stamp} UTC (RGB)")
    im = axes[1].imshow(sl["valid_count"].values, extent=ext, cmap="viridis")
    axes[1].set_title("valid_count")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    out = Path(png) if png else path.with_name(f"{path.stem}_{stamp[:10]}.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
