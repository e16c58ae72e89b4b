"""``join``: samples × cube → the versioned feature store ``features/<name>/``.

One call does it all, so the CLI, the pipeline stage and a notebook take the same path:
match every sample for both horizons, assign leakage-safe splits, cut chips, write the
store and its manifest. The store's identity is a key over the algorithm version, the
parameters, the cube fingerprint and the samples file hash: the same key means the same
store (byte for byte), so a re-run is skipped, and a different key on an existing name
is refused unless ``force``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from spectm import __version__
from spectm.aoi import parse_bbox
from spectm.config import JoinSection, _format_validation
from spectm.console import log
from spectm.errors import BadInputError, DataNotFoundError
from spectm.join import store
from spectm.join.chips import ChipSpec, extract, future_step, history, unlabeled_specs
from spectm.join.inputs import Cube, load_samples_for_join, open_cube, params_json
from spectm.join.join_outputs import chips_dataset, join_counts
from spectm.join.join_result import JoinResult, load_result
from spectm.join.matchup import INDEX_COLUMNS, SliceReader, match_samples
from spectm.join.splits import (
    Items,
    day_splits,
    exclude_leaks,
    resolve_split,
    station_assignment,
)
from spectm.provenance import parts_key, tree_sha256

ALGORITHM_VERSION = "1"  # bump when a change alters the store for the same inputs and parameters


def resolve_params(params: JoinSection | None = None, **overrides: Any) -> JoinSection:
    """A validated :class:`JoinSection` from ``params`` plus keyword overrides (None = keep)."""
    base = (params or JoinSection()).model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return JoinSection.model_validate(base)
    except ValidationError as exc:
        raise BadInputError(
            f"invalid join parameters: {_format_validation(exc)}", "see `spectm join --help` or docs/features.md"
        ) from None


def store_key(p: JoinSection, cube: Cube, samples_sha256: str) -> str:
    """The store's identity: algorithm version, parameters, cube fingerprint, samples hash."""
    pdict = p.model_dump(exclude={"name"})
    return parts_key([ALGORITHM_VERSION, params_json(pdict), cube.fingerprint, samples_sha256])


def is_up_to_date(old: dict, final: Path, p: JoinSection, cube: Cube, samples_sha256: str) -> bool:
    """Whether the store ``final`` with manifest ``old`` is complete for these inputs and parameters."""
    # `--cube` left out (the only cube) and `--cube <that cube>` (as `spectm train` / `spectm run`
    # pass it) are the same store: the cube itself is in the key through its fingerprint.
    named = cube.path.name[: -len(f"_{p.sensor}.zarr")]
    alias = store_key(p.model_copy(update={"cube": None if p.cube else named}), cube, samples_sha256)
    return (
        old.get("key") in (store_key(p, cube, samples_sha256), alias)
        and (final / store.CHIPS).exists()
        and (final / store.MATCHUPS).exists()
    )


def join(
    name: str | None = None,
    *,
    data_dir: Path | str,
    params: JoinSection | None = None,
    region: str | None = None,
    force: bool = False,
    **overrides: Any,
) -> JoinResult:
    """Build (or reuse) ``features/<name>/`` from the cube and ``insitu/samples.parquet``.

    ``overrides`` are :class:`spectm.config.JoinSection` fields (``sensor``, ``time_window_days``,
    ``pixel_window``, ``min_valid_fraction``, ``aggregation``, ``include_scum``, ``chip_size``,
    ``chip_time``, ``split``, ...). ``region`` (a region name or bbox, as in a pipeline) picks
    that region's cube when no ``cube`` is given, so a pipeline joins its own region's cube even
    when the data directory holds several. Returns a :class:`JoinResult` with status ``done``
    (built) or ``skipped`` (the store was complete for the same inputs and parameters), the
    match-ups as a GeoDataFrame and the chips as a lazy xarray Dataset.
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    p = resolve_params(params, name=name, **overrides)
    if p.cube is None and region is not None:
        p = p.model_copy(update={"cube": parse_bbox(region, data_dir).name})
    cube = open_cube(data_dir, p.sensor, p.cube)
    if cube.times.size == 0:
        raise DataNotFoundError(
            f"cube {cube.path} has no complete time slice", "run `spectm build-cube` (or `cube verify`) first"
        )
    samples = load_samples_for_join(data_dir, include_scum=p.include_scum, label=p.label)
    key = store_key(p, cube, samples.sha256)
    final = store.store_dir(data_dir, p.name)
    old = store.read_manifest(data_dir, p.name)
    if old is not None and not force:
        if is_up_to_date(old, final, p, cube, samples.sha256):
            log.info("features/%s is up to date (same inputs and parameters); skipped", p.name)
            return load_result(data_dir, p.name, "skipped", old, time.perf_counter() - t0)
        raise BadInputError(
            f"features/{p.name} exists and was built from other inputs or parameters",
            f"replace it with `spectm join --name {p.name} --force` (in a pipeline: `spectm run --force`), "
            f"delete {final}, or choose another name (see `spectm features show {p.name}`)",
        )
    manifest = _build(data_dir, p, cube, samples, key)
    return load_result(data_dir, p.name, "done", manifest, time.perf_counter() - t0)


def _box(cube: Cube, r0: int, r1: int, c0: int, c1: int) -> list[float]:
    g = cube.grid
    return [g.left + c0 * g.res, g.top - r1 * g.res, g.left + c1 * g.res, g.top - r0 * g.res]


def _date_splits(days: np.ndarray, sample_days: np.ndarray, p: JoinSection) -> np.ndarray:
    return day_splits(
        days,
        sample_days,
        p.split,
        block_days=p.block_days,
        period_fractions=p.period_fractions,
        val_seasons=p.val_seasons,
        test_seasons=p.test_seasons,
    )


def _assign_sample_splits(
    m: pd.DataFrame, p: JoinSection, sample_days: np.ndarray
) -> tuple[np.ndarray, dict[str, str]]:
    if p.split != "station":
        return _date_splits(sample_days, sample_days, p), {}
    kinds = m["station_kind"] if "station_kind" in m else pd.Series("station", index=m.index)
    # GLERL's stations, or the sites of a user's own CSV (``user``); transects and ad-hoc rows are train
    stations = sorted(set(m.loc[kinds.isin(("station", "user")), "station"].astype(str)))
    assign = station_assignment(stations, list(p.test_stations), list(p.val_stations), p.seed)
    return np.array([assign.get(str(s), "train") for s in m["station"]], dtype=object), assign


def _build(data_dir: Path, p: JoinSection, cube: Cube, samples: Any, key: str) -> dict:
    reader = SliceReader(cube.data)
    outcome = match_samples(cube, samples.frame, p, reader)
    m = pd.DataFrame(outcome.rows)
    un = pd.DataFrame(outcome.unmatched, columns=["sample_id", "station", "date", "horizon", "reason", "detail"])
    if m.empty:
        raise DataNotFoundError(
            f"no sample matched the {p.sensor} cube ({len(samples.frame)} samples; reasons: "
            f"{un['reason'].value_counts().to_dict()})",
            "check that the cube covers the sample dates and stations, or widen --time-window / lower --min-valid",
        )
    m = m.sort_values(["sample_id", "horizon"], kind="stable").reset_index(drop=True)
    sample_days = pd.to_datetime(m["date"].astype(str)).values.astype("datetime64[D]").astype(np.int64)
    m["season"] = pd.to_datetime(m["date"].astype(str)).dt.year.astype(np.int64)  # for season splits
    split, station_map = _assign_sample_splits(m, p, sample_days)
    m["split"] = split
    g = cube.grid
    res = g.res

    # --- match-up chips
    specs: list[ChipSpec] = []
    row_spec = np.full(len(m), -1)
    chip_rc = np.full((len(m), 2), -1)
    short = {"matchup": 0, "unlabeled": 0}
    for i, r in m.iterrows():
        r0, c0 = g.chip_origin(int(r["row"]), int(r["col"]), p.chip_size)
        chip_rc[i] = (int(r["row"]) - r0, int(r["col"]) - c0)
        steps = history(cube, int(r["obs_index"]), r0, c0, p)
        if steps is None:
            short["matchup"] += 1
            continue
        row_spec[i] = len(specs)
        specs.append(
            ChipSpec(
                id=f"m_{r['sample_id']}_{r['horizon']}",
                kind="matchup",
                steps=steps,
                r0=r0,
                c0=c0,
                future=future_step(cube, int(r["obs_index"]), r0, c0, p),
                station=str(r["station"]),
                sample_id=str(r["sample_id"]),
                horizon=str(r["horizon"]),
                split=str(r["split"]),
            )
        )
    n_match_specs = len(specs)

    # --- unlabeled chips, with their split
    uspecs, ucounts = unlabeled_specs(cube, p)
    short["unlabeled"] = ucounts.pop("short_history")
    if uspecs:
        last_days = np.array([cube.local_days[s.steps[-1]] for s in uspecs])
        if p.split != "station":
            usplit = _date_splits(last_days, sample_days, p)
        else:
            pos = m[m["station"].astype(str).isin(station_map)].groupby("station")[["x", "y"]].median()
            cx = np.array([g.left + (s.c0 + p.chip_size / 2) * res for s in uspecs])
            cy = np.array([g.top - (s.r0 + p.chip_size / 2) * res for s in uspecs])
            d2 = (cx[:, None] - pos["x"].to_numpy()[None]) ** 2 + (cy[:, None] - pos["y"].to_numpy()[None]) ** 2
            usplit = np.array([station_map[str(pos.index[j])] for j in d2.argmin(axis=1)], dtype=object)
        for s, sp in zip(uspecs, usplit, strict=True):
            s.split = str(sp)
    specs += uspecs

    # --- the buffer rule over match-up windows and chips together
    h = p.pixel_window // 2
    obs_days = cube.local_days[m["obs_index"].to_numpy(int)]
    boxes = [
        _box(cube, int(r) - h, int(r) + h + 1, int(c) - h, int(c) + h + 1)
        for r, c in zip(m["row"], m["col"], strict=True)
    ]
    t0s, t1s = list(np.minimum(sample_days, obs_days)), list(np.maximum(sample_days, obs_days))
    for s in specs:
        boxes.append(_box(cube, s.r0, s.r0 + p.chip_size, s.c0, s.c0 + p.chip_size))
        days = [cube.local_days[t] for t in s.steps] + ([cube.local_days[s.future]] if s.future >= 0 else [])
        t0s.append(min(days))
        t1s.append(max(days))
    items = Items.build(
        np.array(boxes), np.array(t0s), np.array(t1s), np.concatenate([m["split"].to_numpy(), [s.split for s in specs]])
    )
    excl = exclude_leaks(items, p.buffer_km * 1000.0, float(p.buffer_days))
    row_excl = excl[: len(m)]
    spec_excl = excl[len(m) :].copy()
    for i in np.flatnonzero(row_excl):  # a match-up inside the buffer takes its chip with it
        if row_spec[i] >= 0:
            spec_excl[row_spec[i]] = True
    m.loc[row_excl, "split"] = "excluded"
    kept = [s for s, e in zip(specs, spec_excl, strict=True) if not e]
    new_index = np.cumsum(~spec_excl) - 1
    chip_index = np.where((row_spec >= 0) & ~spec_excl[np.maximum(row_spec, 0)], new_index[np.maximum(row_spec, 0)], -1)
    status = np.where(row_spec < 0, "short_history", np.where(chip_index < 0, "excluded_leak", "ok"))
    m["chip_index"] = chip_index.astype(np.int64)
    m["chip"] = [kept[j].id if j >= 0 else "" for j in chip_index]
    m["chip_status"] = status
    m["chip_row"], m["chip_col"] = chip_rc[:, 0], chip_rc[:, 1]

    # --- write
    tmp = store.partial_dir(data_dir, p.name)
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    store.write_matchups(m, tmp / store.MATCHUPS)
    un.to_csv(tmp / store.UNMATCHED, index=False)
    if kept:  # block by block: memory stays flat in the number of seasons (chips)
        ds = chips_dataset(cube, p, kept, None, None)
        store.write_chips(ds, tmp / store.CHIPS, fill=lambda a, b: extract(cube, kept[a:b], reader, p.chip_size))
    else:
        chips_arr, fut = extract(cube, kept, reader, p.chip_size)
        store.write_chips(chips_dataset(cube, p, kept, chips_arr, fut), tmp / store.CHIPS)

    counts = join_counts(samples, m, un, kept, specs, spec_excl, n_match_specs, short, ucounts, cube)
    manifest = {
        "spectm_version": __version__,
        "algorithm_version": ALGORITHM_VERSION,
        "name": p.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "key": key,
        "inputs": {
            "cube": {
                "path": str(cube.path.relative_to(data_dir)),
                "fingerprint": cube.fingerprint,
                "sensor": cube.sensor,
                "region": cube.region,
                "slices": int(cube.times.size),
                "incomplete_slices_skipped": cube.n_incomplete,
                "first": str(cube.times[0])[:19],
                "last": str(cube.times[-1])[:19],
                "water_mask": cube.water_source,
                "timezone": cube.timezone,
                "crs": cube.crs.to_string(),
                "resolution_m": cube.grid.res,
            },
            "samples": {
                "path": str(samples.path.relative_to(data_dir)),
                "sha256": samples.sha256,
                "rows": samples.n_rows,
            },
        },
        "params": p.model_dump(),
        "indices": [c for c in INDEX_COLUMNS if c in m.columns],
        "spectrum_columns": {
            "prefix": "rrs" if cube.sensor == "pace" else "refl",
            "bands": cube.band_names,
            "wavelengths_nm": [float(w) for w in cube.wavelengths],
            "spread": "iqr" if p.aggregation == "median" else "std",
        },
        "split_method": resolve_split(p.split, sample_days),
        "station_splits": station_map,
        "counts": counts,
        "outputs": {
            store.MATCHUPS: tree_sha256(tmp / store.MATCHUPS),
            store.UNMATCHED: tree_sha256(tmp / store.UNMATCHED),
            store.CHIPS: tree_sha256(tmp / store.CHIPS),
        },
    }
    (tmp / store.MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    store.commit(tmp, store.store_dir(data_dir, p.name))
    return manifest
