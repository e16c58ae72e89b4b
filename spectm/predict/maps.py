"""``spectm.predict.predict_maps``: the one function behind ``spectm predict``.

Open the region's cube for the regressor's sensor, tile every cube date in the requested
range into the regressor's chips (:mod:`spectm.predict.tiling`), predict them with
``predict_chips``, blend overlapping tiles into a per-date mosaic, and write
``maps/<name>.zarr`` (:mod:`spectm.predict.mapstore`), one quick-look PNG and one
Cloud-Optimized GeoTIFF per date (``maps/<name>/<YYYY-MM-DD>.png`` / ``.tif``,
:mod:`spectm.predict.cog`) and ``maps/<name>/manifest.json`` (written last: its key
says which regressor, cube and settings made the maps, so an identical re-run is skipped).
Days without imagery and tiles left out are counted and reported, never dropped silently.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from spectm import __version__
from spectm.aoi import parse_bbox
from spectm.config import JoinSection
from spectm.console import log
from spectm.dates import parse_dates
from spectm.errors import BadInputError, DataNotFoundError, DateRangeError, SchemaError, StageError
from spectm.join import store
from spectm.join.inputs import Cube, open_cube
from spectm.predict import mapstore, quicklook
from spectm.predict.cog import write_cog
from spectm.predict.predict_result import PredictResult
from spectm.predict.regressor import ChipPredictor, load, resolve_checkpoint
from spectm.predict.tiling import SKIP_REASONS, ChipSpec, Tiler, batches, blend_window, chip_days, cut_chips
from spectm.provenance import atomic_write_json, file_fingerprint, parts_key
from spectm.runs import latest_complete_run

ALGORITHM_VERSION = "1"  # bump when a change alters the maps for the same inputs and settings
MANIFEST = "manifest.json"
WL_TOLERANCE_NM = 0.5


def _select_bands(cube: Cube, reg: ChipPredictor) -> np.ndarray:
    """Cube band index of each regressor wavelength (nearest within 0.5 nm)."""
    want = np.asarray(reg.wavelengths, float)
    d = np.abs(cube.wavelengths[None, :] - want[:, None])
    idx = d.argmin(axis=1)
    bad = want[d[np.arange(want.size), idx] > WL_TOLERANCE_NM]
    if bad.size:
        raise SchemaError(
            f"the cube {cube.path.name} lacks {bad.size} of the regressor's wavelengths (e.g. {bad[:3].tolist()} nm)",
            "predict with a cube of the sensor the regressor was trained on",
        )
    return idx


def _history_params(
    data_dir: Path, reg: ChipPredictor, features: str | None, join: JoinSection | None
) -> tuple[JoinSection, str]:
    """The join settings that pick history steps: ``join``, else the feature store's manifest
    (``features``, else the store the regressor was trained on, else the only store), else the
    defaults; the chip geometry is always the regressor's."""

    src = "join section"
    if join is None:
        man = None
        if features:
            man = store.read_manifest(data_dir, features)
            if man is None:
                raise DataNotFoundError(
                    f"no feature store features/{features}", "pass --features NAME of an existing store"
                )
        else:
            trained_on = (getattr(reg, "meta", None) or {}).get("features")  # the store R's regressor records
            names = store.list_stores(data_dir)
            features = trained_on if trained_on in names else (names[0] if len(names) == 1 else None)
            man = store.read_manifest(data_dir, features) if features else None
        join, src = (
            (JoinSection.model_validate(man["params"]), f"features/{features}") if man else (JoinSection(), "defaults")
        )
    upd = {"chip_size": int(reg.chip_size), "chip_time": int(reg.chip_time)}
    return JoinSection.model_validate({**join.model_dump(), **upd}), src


def _dates(cube: Cube, dates: str) -> tuple[np.ndarray, int, date, date]:
    """Cube time indices whose local day is in ``dates``; and days in range without a slice."""
    dr = parse_dates(dates)
    days = cube.local_days.astype("datetime64[D]")
    first, last = (str(days[0]), str(days[-1])) if days.size else ("-", "-")
    lo, hi = np.datetime64(dr.start, "D"), np.datetime64(dr.end, "D")
    if days.size == 0 or hi < days[0] or lo > days[-1]:
        raise DateRangeError(
            f"dates {dr} are outside the cube {cube.path.name} ({first} to {last})",
            f"pass --dates within {first}:{last}, or build the cube for those dates first",
        )
    sel = np.flatnonzero((days >= lo) & (days <= hi))
    if sel.size == 0:
        raise DataNotFoundError(
            f"the cube {cube.path.name} has no imagery on {dr}", f"pick dates with imagery ({first} to {last})"
        )
    return sel, dr.n_days - len(set(days[sel].tolist())), dr.start, dr.end


def _key(reg_fp: str | None, cube: Cube, settings: dict) -> str | None:
    if reg_fp is None:
        return None
    return parts_key([ALGORITHM_VERSION, reg_fp, cube.fingerprint, json.dumps(settings, sort_keys=True, default=str)])


def _regressor_fingerprint(path: Path) -> str:
    return parts_key([file_fingerprint(p) for p in sorted(path.iterdir()) if p.is_file()])


def read_manifest(data_dir: Path, name: str) -> dict | None:
    p = mapstore.maps_dir(data_dir) / name / MANIFEST
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def _load_regressor(
    data_dir: Path,
    checkpoint: str | Path | ChipPredictor | None,
    model: str | None,
    horizon: str | None,
    pipeline_name: str | None,
) -> tuple[ChipPredictor, str | None, str]:
    """(regressor, fingerprint of its files or None for an in-memory one, its name); no
    ``checkpoint``: the pipeline's latest complete regress run."""
    if checkpoint is None:
        checkpoint = latest_complete_run(data_dir, f"{pipeline_name}-regress-") if pipeline_name else None
        if checkpoint is None:
            raise DataNotFoundError(
                f"no complete regress run '{pipeline_name or '<pipeline>'}-regress-*' in {data_dir / 'runs'}",
                "put 'regress' before 'predict' in the pipeline's stages, or pass a checkpoint "
                "(predict.checkpoint, --checkpoint)",
            )
    if not isinstance(checkpoint, str | Path):
        return checkpoint, None, type(checkpoint).__name__
    reg_dir = resolve_checkpoint(data_dir, checkpoint, model=model, horizon=horizon)
    return load(reg_dir), _regressor_fingerprint(reg_dir), str(reg_dir)


def _mosaic(
    reg: ChipPredictor, cube: Cube, specs: list[ChipSpec], bands: np.ndarray, weight: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(blended prediction, chips per cell) of one date: every planned chip predicted in
    batches and blended with ``weight`` where chips overlap; land cells count 0."""
    ny, nx = cube.grid.shape
    s = weight.shape[0]
    acc = np.zeros((ny, nx), np.float64)
    wsum = np.zeros((ny, nx), np.float64)
    cnt = np.zeros((ny, nx), np.int32)
    for batch in batches(specs, batch_size):
        pred = np.asarray(reg.predict_chips(cut_chips(cube, batch, s, bands), chip_days(cube, batch)))
        if pred.shape != (len(batch), s, s):
            raise StageError(
                f"predict_chips returned shape {pred.shape}, expected {(len(batch), s, s)}",
                "the regressor does not follow the predict_chips contract",
            )
        for sp, p in zip(batch, pred, strict=True):
            ok = np.isfinite(p)
            w = np.where(ok, weight, 0.0)
            acc[sp.r0 : sp.r0 + s, sp.c0 : sp.c0 + s] += w * np.where(ok, p, 0.0)
            wsum[sp.r0 : sp.r0 + s, sp.c0 : sp.c0 + s] += w
            cnt[sp.r0 : sp.r0 + s, sp.c0 : sp.c0 + s] += ok
    cnt[~cube.water] = 0
    return np.where(cnt > 0, acc / np.where(wsum > 0, wsum, 1.0), np.nan), cnt


def predict_maps(
    checkpoint: str | Path | ChipPredictor | None,
    dates: str,
    *,
    data_dir: Path | str,
    region: str | None = None,
    aoi: str | None = None,
    name: str | None = None,
    pipeline_name: str | None = None,
    model: str | None = None,
    horizon: str | None = None,
    features: str | None = None,
    join: JoinSection | None = None,
    min_valid: float = 0.25,
    overlap: int | None = None,
    batch_size: int = 256,
    quicklooks: bool = True,
    force: bool = False,
) -> PredictResult:
    """Write microcystin maps for ``dates`` (module docstring); returns what was written.

    ``checkpoint``: a regress run id or directory, a regressor directory, or any object with
    the :class:`~spectm.predict.regressor.ChipPredictor` interface; None: the latest complete
    ``<pipeline_name>-regress-`` run. ``region`` picks the cube (``cubes/<region>_<sensor>.zarr``;
    default: the cube of ``aoi``, a region name or bbox as a pipeline's ``region:``, else the only
    cube of the regressor's sensor). ``name`` names ``maps/<name>`` (default: ``pipeline_name``,
    else the region). ``min_valid``: share of a tile's
    water cells that must be valid on the date. ``overlap``: cells shared by neighbouring tiles,
    blended in the mosaic (default: half a chip; 0: tiles side by side). ``force`` replaces maps made from other
    inputs or settings (an identical re-run is skipped either way). Returns status ``done``, or
    ``skipped`` when the maps' manifest records the same regressor, cube and settings.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    if not 0 < min_valid <= 1:
        raise BadInputError(f"min_valid must be in (0, 1], got {min_valid}", "pass e.g. --min-valid 0.25")
    if batch_size < 1:
        raise BadInputError(f"batch_size must be ≥ 1, got {batch_size}", "pass e.g. 256")
    reg, reg_fp, reg_name = _load_regressor(data_dir, checkpoint, model, horizon, pipeline_name)
    if horizon is not None and str(reg.horizon) != horizon:
        raise BadInputError(
            f"the regressor predicts horizon '{reg.horizon}', not '{horizon}'",
            "drop --horizon or pick that horizon's regressor",
        )
    if region is None and aoi is not None:
        region = parse_bbox(aoi, data_dir).name
    cube = open_cube(data_dir, str(reg.sensor), region)
    bands = _select_bands(cube, reg)
    params, params_src = _history_params(data_dir, reg, features, join)
    sel, n_no_imagery, start, end = _dates(cube, dates)
    name = name or pipeline_name or cube.region
    lead = int(reg.lead_days) if str(reg.horizon) == "ahead" else 0
    s = params.chip_size
    overlap = s // 2 if overlap is None else overlap
    if not 0 <= overlap < s:
        raise BadInputError(
            f"overlap must be between 0 and chip size − 1 ({s - 1}), got {overlap}", f"pass e.g. --overlap {s // 2}"
        )
    settings = {
        "dates": f"{start}:{end}",
        "min_valid": min_valid,
        "overlap": overlap,
        "chip_size": params.chip_size,
        "chip_time": params.chip_time,
        "chip_lookback_days": params.chip_lookback_days,
        "chip_min_valid": params.chip_min_valid,
        "horizon": str(reg.horizon),
        "lead_days": lead,
        "quicklooks": quicklooks,
    }
    key = _key(reg_fp, cube, settings)
    final, png_dir = mapstore.store_path(data_dir, name), mapstore.maps_dir(data_dir) / name
    old = read_manifest(data_dir, name)
    if old is not None and final.exists():
        if key is not None and old.get("key") == key:
            log.info("maps/%s is up to date (same regressor, cube and settings); skipped", name)
            return PredictResult(
                status="skipped", name=name, path=final, png_dir=png_dir, manifest=old, seconds=time.perf_counter() - t0
            )
        if not force:
            raise BadInputError(
                f"maps/{name} exists and was made from another regressor, cube or settings",
                "pass --force to replace it, or choose another --name",
            )
    try:
        tiler = Tiler(cube, params, min_valid, stride=s - overlap)
    except ValueError as exc:
        raise BadInputError(f"{exc} (cube {cube.path.name})", "use a regressor with a smaller chip size") from None

    times = cube.times[sel]
    target = times + np.timedelta64(lead, "D")
    provenance = {
        "regressor": reg_name,
        "regressor_fingerprint": reg_fp,
        "model": getattr(reg, "model_name", None),
        "horizon": str(reg.horizon),
        "lead_days": lead,
        "sensor": str(reg.sensor),
        "n_bands": int(bands.size),
        "history_settings_from": params_src,
        "cube": str(cube.path),
        "cube_fingerprint": cube.fingerprint,
        "spectm_version": __version__,
    }
    ds, enc = mapstore.template(cube, times, target, mapstore.global_attrs(cube, provenance, settings))
    partial = mapstore.partial_path(data_dir, name)
    mapstore.create(partial, ds, enc)
    if png_dir.exists():
        for old_file in [*png_dir.glob("*.png"), *png_dir.glob("*.tif")]:
            old_file.unlink()
        (png_dir / MANIFEST).unlink(missing_ok=True)

    (ny, nx), weight = cube.grid.shape, blend_window(s)
    g = cube.grid
    extent = (g.left / 1e3, (g.left + nx * g.res) / 1e3, (g.top - ny * g.res) / 1e3, g.top / 1e3)
    totals = {"tiles_predicted": 0, **dict.fromkeys(SKIP_REASONS, 0)}
    per_date, cells, empty = [], 0, 0
    for i, t in enumerate(sel):
        plan = tiler.plan(int(t))
        mean, cnt = _mosaic(reg, cube, plan.specs, bands, weight, batch_size)
        counts = {"tiles_predicted": len(plan.specs), **{f"tiles_{r}": n for r, n in plan.skipped.items()}}
        mapstore.write_date(partial, i, mean, cnt, counts)
        n_cells = int((cnt > 0).sum())
        cells += n_cells
        empty += n_cells == 0
        totals["tiles_predicted"] += len(plan.specs)
        for r, n in plan.skipped.items():
            totals[r] += n
        day = str(cube.local_days[t].astype("datetime64[D]"))
        per_date.append(
            {"date": day, "time": str(times[i])[:19], "chips": len(plan.specs), "cells": n_cells, **plan.skipped}
        )
        write_cog(
            png_dir / f"{day}.tif",
            mapstore.to_ugL(mean),
            cube.grid,
            cube.crs.to_wkt(),
            tags={
                "TIFFTAG_DATETIME": f"{day.replace('-', ':')} 00:00:00",
                "imagery_time_utc": str(times[i])[:19],
                "target_date": str(target[i])[:10],
                "source": f"spectm {__version__} predict ({Path(reg_name).name})",
                "region": cube.region,
                "sensor": cube.sensor,
            },
        )
        if quicklooks:
            when = f"imagery {day}" + (f", for {str(target[i])[:10]} (+{lead} d)" if lead else "")
            title = f"Predicted microcystin, {cube.region} ({cube.sensor}), {when}"
            note = f"spectm {__version__}; regressor {Path(reg_name).name}; {len(plan.specs)} chips, {n_cells} cells"
            quicklook.render(png_dir / f"{day}.png", mean, cube.water, extent, title, note)
    mapstore.commit(partial, final)

    counts_all = {
        "days_in_range": int((np.datetime64(end, "D") - np.datetime64(start, "D")).astype(int) + 1),
        "days_without_imagery": int(n_no_imagery),
        "dates_mapped": int(sel.size),
        "dates_empty": int(empty),
        "water_tiles": len(tiler.water_tiles),
        "land_tiles": tiler.n_land,
        "tiles_predicted": totals["tiles_predicted"],
        "tiles_skipped": int(sum(totals[r] for r in SKIP_REASONS)),
        "skipped": {r: int(totals[r]) for r in SKIP_REASONS},
        "cells_predicted": int(cells),
        "incomplete_cube_slices_ignored": cube.n_incomplete,
    }
    manifest = {
        "spectm_version": __version__,
        "algorithm_version": ALGORITHM_VERSION,
        "name": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "key": key,
        "store": final.name,
        "provenance": provenance,
        "settings": settings,
        "counts": counts_all,
        "dates": per_date,
    }
    png_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(png_dir / MANIFEST, manifest, indent=2, newline=False, fsync=False)
    return PredictResult(
        status="done", name=name, path=final, png_dir=png_dir, manifest=manifest, seconds=time.perf_counter() - t0
    )
