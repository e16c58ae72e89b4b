"""``ingest_samples``: GLERL (or a user's) CSVs -> ``insitu/samples.parquet`` and its reports.

One call reads every file (schema detected per file, UTF-8 with a latin-1 fallback),
applies the samples contract (:mod:`spectm.samples.normalize`) and writes, atomically,

* ``insitu/samples.parquet`` — GeoParquet, EPSG:4326, one row per sample;
* ``insitu/rejected_rows.csv`` — file, row, column, value, reason, scope (``row``: the row
  was not kept; ``cell``: the row was kept with that cell set to missing);
* ``insitu/ingest_report.json`` — per file: schema, encoding, rows read / kept / rejected,
  missing tokens per variable, censored counts, detection limits used for ``bdl``, repairs.

It is idempotent: a hash of the input bytes, the column map and the options is stored in
the report, and a second call with the same inputs returns the existing outputs
(status ``skipped``) unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from spectm._version import __version__
from spectm.catalogs import builtin_catalog_dir, list_station_tables, load_stations
from spectm.console import log
from spectm.errors import BadInputError, ConfigError, DataNotFoundError, SchemaError
from spectm.provenance import atomic_write, atomic_write_json, file_sha256
from spectm.samples.column_map import load_column_map
from spectm.samples.csv_cells import CHUNK_ROWS, iter_cells
from spectm.samples.file_blocks import REJECTED_COLUMNS, FileResult, normalize_file
from spectm.samples.ingest_result import FileSummary, IngestResult, totals_of
from spectm.samples.normalize import SourceSpec, empty_rows
from spectm.samples.samples_table import finish_table
from spectm.samples.schemas import VARIABLES
from spectm.samples.source_specs import spec_for_glerl, spec_for_user

# Bump when the rules change, so existing outputs are rebuilt rather than reused.
RULES_VERSION = "2"
GLERL_TIMEZONE = "America/New_York"
STATION_TABLE = "glerl_western_lake_erie"


def bundled_files() -> list[Path]:
    """The GLERL CSVs shipped with spectm (``catalogs/insitu/glerl``)."""
    d = builtin_catalog_dir() / "insitu" / "glerl"
    files = sorted(d.glob("*.csv"))
    if not files:
        raise DataNotFoundError(f"no bundled GLERL files in {d}", "reinstall spectm, or pass the CSV files explicitly")
    return files


def output_paths(data_dir: Path) -> dict[str, Path]:
    base = Path(data_dir) / "insitu"
    return {
        "samples": base / "samples.parquet",
        "rejected": base / "rejected_rows.csv",
        "report": base / "ingest_report.json",
    }


def _resolve_files(files: Sequence[Path | str] | None) -> list[Path]:
    if files is None or len(files) == 0:
        return bundled_files()
    out: list[Path] = []
    for f in files:
        p = Path(f)
        if p.is_dir():
            found = sorted(p.glob("*.csv"))
            if not found:
                raise DataNotFoundError(f"directory {p} holds no .csv files", "pass CSV files or a folder of them")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise DataNotFoundError(f"input file {p} does not exist", "check the path")
    names = [p.name for p in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInputError(
            f"two inputs share the file name(s) {dupes}",
            "rename one: reports key rows by file name",
        )
    return out


def _input_hash(hashes: dict[Path, str], column_map: Path | None, timezone: str | None, data_dir: Path) -> str:
    """Everything that changes the outputs: input bytes, column map, options, the station
    table used for coordinate repairs (a user may override it in <data-dir>/catalogs)."""
    h = hashlib.sha256()
    h.update(f"rules={RULES_VERSION};tz={timezone};".encode())
    if column_map is None:
        table = list_station_tables(data_dir).get(STATION_TABLE)
        if table is not None:
            h.update(b"stations\0" + table.read_bytes())
    for f, sha in hashes.items():
        h.update(f.name.encode() + b"\0" + bytes.fromhex(sha))
    if column_map is not None:
        h.update(b"colmap\0" + Path(column_map).read_bytes())
    return h.hexdigest()


def ingest_samples(
    files: Sequence[Path | str] | None = None,
    *,
    data_dir: Path | str,
    column_map: Path | str | None = None,
    timezone: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Read in-situ sample CSVs into ``<data_dir>/insitu/samples.parquet`` (GeoParquet).

    Args:
        files: CSV files or folders of them; ``None``/empty: the GLERL files bundled with
            spectm (2012–2022, 2024, 2025).
        data_dir: the spectm data directory (outputs go to ``insitu/``).
        column_map: a column-map YAML describing a user's own CSV (all ``files`` are read
            with it); without one (``None`` or ``""``, as a pipeline file leaves it), each file
            must be a known GLERL layout.
        timezone: IANA zone of the files' local times; overrides the default
            (America/New_York for GLERL) and the column map's ``timezone``.
        force: rebuild even when the outputs exist for the same inputs.

    Returns:
        :class:`~spectm.samples.ingest_result.IngestResult` (a stage result, status ``done``,
        or ``skipped`` when the outputs were complete for the same inputs) with the samples
        GeoDataFrame, the rejected rows/cells, a per-file summary and the output paths.

    Raises:
        SchemaError: a file's headers are not a known layout (or do not fit the column map).
        ConfigError: the column map or the time zone is invalid.
        DataNotFoundError: an input file does not exist.
    """
    data_dir = Path(data_dir)
    column_map = Path(column_map) if column_map else None
    paths = output_paths(data_dir)
    inputs = _resolve_files(files)
    cmap = load_column_map(column_map) if column_map is not None else None
    tz = timezone or (cmap.timezone if cmap else None) or (None if cmap else GLERL_TIMEZONE)
    if tz is None:
        raise ConfigError(
            f"{column_map}: no time zone for the sample times",
            "add 'timezone: <IANA name>' to the column map or pass --timezone",
        )
    _check_tz(tz)
    hashes = {f: file_sha256(f) for f in inputs}  # each input read once, for the key and the report
    digest = _input_hash(hashes, column_map, tz, data_dir)
    if not force and all(p.exists() for p in paths.values()):
        try:
            old = json.loads(paths["report"].read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("input_hash") == digest:
            log.info(
                "samples: outputs in %s are up to date (same inputs); use force to rebuild",
                paths["samples"].parent,
            )
            return _load_result(paths, old)

    stations = None if cmap else load_stations(STATION_TABLE, data_dir)
    outcomes: list[tuple[Path, str, SourceSpec, FileResult]] = []
    for path in inputs:
        headers, blocks, enc = iter_cells(
            path, cmap.encoding if cmap else None, cmap.delimiter if cmap else ",", chunk_rows=CHUNK_ROWS
        )
        spec = spec_for_user(path, headers, cmap, tz) if cmap else spec_for_glerl(path, headers, tz)
        out = normalize_file(blocks, spec, path.name, stations)
        out.rows["source_file"] = path.name
        outcomes.append((path, enc, spec, out))
        log.info(
            "samples: %s (schema %s, %s): %d read, %d kept, %d rejected",
            path.name,
            spec.schema,
            enc,
            out.rows_read,
            out.rows_kept,
            out.rows_rejected,
        )
    if not any(o.rows_kept for *_, o in outcomes):
        _refuse_no_rows(outcomes, paths["samples"])

    frames = [o.rows for *_, o in outcomes if len(o.rows)]
    table = pd.concat(frames, ignore_index=True) if frames else empty_rows().assign(source_file=pd.Series(dtype=str))
    table = finish_table(table)
    rej_frames = [o.rejected for *_, o in outcomes if len(o.rejected)]
    rejected = (
        pd.concat(
            [f.astype({c: object for c in ("file", "column", "reason", "scope")}) for f in rej_frames],
            ignore_index=True,
        )
        if len(rej_frames) > 1
        else rej_frames[0]
        if rej_frames
        else pd.DataFrame(columns=REJECTED_COLUMNS)
    )
    summaries = [
        FileSummary(
            path.name,
            spec.schema,
            enc,
            o.rows_read,
            o.rows_kept,
            o.rows_rejected,
            o.cells_rejected,
            o.detected.get("pmc_ugL", 0),
            o.censored.get("pmc_ugL", 0),
            sum(o.nondetect.values()),
        )
        for path, enc, spec, o in outcomes
    ]
    report = {
        "spectm_version": __version__,
        "rules_version": RULES_VERSION,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input_hash": digest,
        "options": {"timezone": tz, "column_map": str(column_map) if column_map else None},
        "units": {v: unit for v, (_, unit) in VARIABLES.items()},
        "files": {
            path.name: {
                "path": str(path),
                "sha256": hashes[path],
                "schema": spec.schema,
                "encoding": enc,
                "rows_read": o.rows_read,
                "rows_kept": o.rows_kept,
                "rows_rejected": o.rows_rejected,
                "cells_rejected": o.cells_rejected,
                "missing_tokens": o.missing,
                "censored": o.censored,
                "detected": o.detected,
                "bdl_lods": o.bdl_lods,
                "nondetects": o.nondetect,
                "flags": o.flags,
                "repairs": len(o.repairs),
                "columns_not_carried": list(spec.ignored),
                "values_not_carried_unit_unknown": o.not_carried_values,
            }
            for path, enc, spec, o in outcomes
        },
        "totals": {k: v for k, v in totals_of(summaries).__dict__.items() if k not in ("file", "schema", "encoding")},
        "repairs": [r for *_, o in outcomes for r in o.repairs],
        "duplicates": table.loc[table["sample_id"].str.match(r".*_\d+$"), "sample_id"].tolist(),
    }
    paths["samples"].parent.mkdir(parents=True, exist_ok=True)
    gdf = _to_geo(table)
    atomic_write(paths["samples"], lambda p: gdf.to_parquet(p, index=False))
    atomic_write(paths["rejected"], lambda p: rejected.to_csv(p, index=False))
    atomic_write_json(paths["report"], report, indent=2)
    return IngestResult(status="done", samples=gdf, rejected=rejected, files=summaries, paths=paths, report=report)


def _refuse_no_rows(outcomes: list, samples: Path) -> None:
    """No input row survived: stop before any output is written, so an existing
    ``samples.parquet`` is kept, and say why the rows were rejected."""
    read = sum(o.rows_read for *_, o in outcomes)
    reasons: Counter[str] = Counter()
    for *_, o in outcomes:
        rej = o.rejected
        if len(rej):
            reasons.update(rej.loc[rej["scope"] == "row", "reason"].astype(str).value_counts().to_dict())
    top = "; ".join(f"{n} × {why}" for why, n in reasons.most_common(2))
    names = ", ".join(p.name for p, *_ in outcomes)
    keep = f"; {samples} is left as it was" if samples.exists() else ""
    raise SchemaError(
        f"no valid row in {names}: {read} row(s) read, none kept ({top or 'no data rows'}){keep}",
        "check the file against docs/samples.md (dates, site ids, depth categories) or pass a column map",
    )


def _check_tz(tz: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone '{tz}'", "use an IANA name such as America/New_York or UTC") from None


def _to_geo(df: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def _load_result(paths: dict[str, Path], report: dict[str, Any]) -> IngestResult:
    gdf = gpd.read_parquet(paths["samples"])
    rejected = pd.read_csv(paths["rejected"], dtype={"value": str}, keep_default_na=False)
    summaries = [
        FileSummary(
            name,
            f["schema"],
            f["encoding"],
            f["rows_read"],
            f["rows_kept"],
            f["rows_rejected"],
            f["cells_rejected"],
            f["detected"].get("pmc_ugL", 0),
            f["censored"].get("pmc_ugL", 0),
            sum(f.get("nondetects", {}).values()),
        )
        for name, f in report.get("files", {}).items()
    ]
    return IngestResult(status="skipped", samples=gdf, rejected=rejected, files=summaries, paths=paths, report=report)


def load_samples(data_dir: Path) -> gpd.GeoDataFrame:
    """Read ``<data_dir>/insitu/samples.parquet`` back (DataNotFoundError if it is missing)."""
    path = output_paths(Path(data_dir))["samples"]
    if not path.exists():
        raise DataNotFoundError(f"{path} does not exist", "run 'spectm samples ingest' first")
    return gpd.read_parquet(path)
