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
(``skipped=True``) unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from spectm._version import __version__
from spectm.catalogs import builtin_catalog_dir, list_station_tables, load_stations
from spectm.console import log
from spectm.errors import BadInputError, ConfigError, DataNotFoundError, SchemaError
from spectm.samples.column_map import ColumnMap, converter, load_column_map
from spectm.samples.normalize import DEPTH_WORDS, SourceSpec, empty_rows, normalize
from spectm.samples.schemas import VARIABLES, detect_schema

# Bump when the rules change, so existing outputs are rebuilt rather than reused.
RULES_VERSION = "2"
GLERL_TIMEZONE = "America/New_York"
STATION_TABLE = "glerl_western_lake_erie"
REJECTED_COLUMNS = ["file", "row", "column", "value", "reason", "scope"]


@dataclass
class FileSummary:
    """One input file's numbers (also in ingest_report.json)."""

    file: str
    schema: str
    encoding: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    cells_rejected: int
    pmc_detected: int
    pmc_censored: int
    nondetects: int = 0  # cells in the column map's non-detect words, all variables


@dataclass
class IngestResult:
    """What :func:`ingest_samples` produced (or found already complete)."""

    samples: gpd.GeoDataFrame
    rejected: pd.DataFrame
    files: list[FileSummary]
    paths: dict[str, Path]
    report: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False

    @property
    def totals(self) -> FileSummary:
        return FileSummary(
            file="total",
            schema="",
            encoding="",
            rows_read=sum(f.rows_read for f in self.files),
            rows_kept=sum(f.rows_kept for f in self.files),
            rows_rejected=sum(f.rows_rejected for f in self.files),
            cells_rejected=sum(f.cells_rejected for f in self.files),
            pmc_detected=sum(f.pmc_detected for f in self.files),
            pmc_censored=sum(f.pmc_censored for f in self.files),
            nondetects=sum(f.nondetects for f in self.files),
        )

    @property
    def duplicates(self) -> list[str]:
        """Sample ids of rows repeating an earlier station/day/depth (the ``_2``, ``_3`` ids)."""
        return list(self.report.get("duplicates", []))


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


CHUNK_ROWS = 100_000
"""Rows normalized at a time. Every bundled GLERL file is far smaller, so they are read in
one piece; a bigger file is streamed in blocks of this many rows, which bounds memory (a
million junk rows stay well under 1 GB, benchmarks/README.md) at one cost: the two rules
that look across rows — a non-surface row inheriting time/position from the surface row
of its site and date, and a ``bdl`` detection limit taken as the file's smallest detected
value — then see only the rows of their block (docs/samples.md)."""


def detect_encoding(path: Path, encoding: str | None = None) -> str:
    """The encoding to read ``path`` with: ``encoding`` (checked), else UTF-8 (BOM allowed)
    when every byte decodes, else latin-1. Decoded in 1 MiB blocks, never held whole."""
    import codecs

    want = encoding or "utf-8-sig"
    try:
        dec = codecs.getincrementaldecoder(want)()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                dec.decode(block)
            dec.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if encoding is None:
            return "latin-1"
        raise BadInputError(
            f"{path.name} cannot be decoded as {encoding}: {exc}", "fix 'encoding:' in the column map"
        ) from None
    except LookupError as exc:
        raise BadInputError(
            f"{path.name} cannot be decoded as {encoding}: {exc}", "fix 'encoding:' in the column map"
        ) from None
    return encoding or "utf-8"


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding used: UTF-8 (BOM allowed), else latin-1."""
    enc = detect_encoding(path, encoding)
    return path.read_bytes().decode("utf-8-sig" if enc == "utf-8" else enc), enc


def iter_cells(
    path: Path, encoding: str | None = None, delimiter: str = ",", chunk_rows: int | None = None
) -> tuple[list[str], Iterator[pd.DataFrame], str]:
    """Header, blocks of at most ``chunk_rows`` rows as text cells (no NA conversion: tokens
    are interpreted later, not by pandas), and the encoding; the file is streamed."""
    enc = detect_encoding(path, encoding)
    pd_enc = "utf-8-sig" if enc == "utf-8" else enc
    kw: dict[str, Any] = dict(dtype=str, keep_default_na=False, na_filter=False, sep=delimiter, encoding=pd_enc)
    try:
        headers = list(pd.read_csv(path, nrows=0, **kw).columns)
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{path.name} is empty", "pass a CSV file with a header row") from None
    except pd.errors.ParserError as exc:
        raise SchemaError(f"{path.name} is not a readable CSV: {exc}", "check the delimiter and quoting") from None

    def blocks() -> Iterator[pd.DataFrame]:
        try:
            with pd.read_csv(path, chunksize=chunk_rows or CHUNK_ROWS, **kw) as reader:
                n = 0
                for block in reader:
                    n += 1
                    yield block
                if n == 0:
                    yield pd.DataFrame({h: pd.Series(dtype=str) for h in headers})
        except pd.errors.ParserError as exc:
            raise SchemaError(f"{path.name} is not a readable CSV: {exc}", "check the delimiter and quoting") from None

    return headers, blocks(), enc


@dataclass
class _FileResult:
    """One file's outcome, merged over its blocks; rejected rows kept as a frame (a dict
    per rejected cell would be ~1 kB each, too much for a million junk rows)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    repairs: list[dict[str, Any]]
    rows_read: int = 0
    rows_rejected: int = 0
    cells_rejected: int = 0
    missing: dict[str, dict[str, int]] = field(default_factory=dict)
    censored: dict[str, int] = field(default_factory=dict)
    detected: dict[str, int] = field(default_factory=dict)
    bdl_lods: dict[str, float] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    not_carried_values: dict[str, int] = field(default_factory=dict)
    nondetect: dict[str, int] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return len(self.rows)


def _add_counts(into: dict, more: dict) -> None:
    for k, v in more.items():
        if isinstance(v, dict):
            _add_counts(into.setdefault(k, {}), v)
        else:
            into[k] = into.get(k, 0) + v


def _normalize_file(
    blocks: Iterator[pd.DataFrame], spec: SourceSpec, name: str, stations: pd.DataFrame | None
) -> _FileResult:
    """:func:`normalize` block by block; row numbers are shifted to count from the file's start."""
    rows, rejected = [], []
    res = _FileResult(rows=pd.DataFrame(), rejected=pd.DataFrame(columns=REJECTED_COLUMNS), repairs=[])
    offset = 0
    for block in blocks:
        out = normalize(block.reset_index(drop=True), spec, name, stations)
        if len(out.rows):
            out.rows["source_row"] = out.rows["source_row"].astype("int64") + offset
            rows.append(out.rows)
        if out.rejected:
            rej = pd.DataFrame(out.rejected, columns=REJECTED_COLUMNS)
            rej["row"] = rej["row"].astype("int64") + offset
            for c in ("file", "column", "reason", "scope"):
                rej[c] = rej[c].astype("category")
            rejected.append(rej)
        res.repairs += [{**r, "row": int(r["row"]) + offset} for r in out.repairs]
        res.rows_read += out.rows_read
        res.rows_rejected += out.rows_rejected
        res.cells_rejected += out.cells_rejected
        for k in ("missing", "censored", "detected", "flags", "not_carried_values", "nondetect"):
            _add_counts(getattr(res, k), getattr(out, k))
        for v, lod in out.bdl_lods.items():
            res.bdl_lods[v] = min(lod, res.bdl_lods.get(v, lod))
        offset += len(block)
        del out, block
    res.rows = pd.concat(rows, ignore_index=True) if rows else empty_rows()
    if rejected:
        from pandas.api.types import union_categoricals

        res.rejected = pd.DataFrame(
            {
                c: union_categoricals([r[c] for r in rejected])
                if isinstance(rejected[0][c].dtype, pd.CategoricalDtype)
                else pd.concat([r[c] for r in rejected], ignore_index=True)
                for c in REJECTED_COLUMNS
            }
        )
    return res


def _spec_for_glerl(path: Path, headers: list[str], timezone: str) -> SourceSpec:
    det = detect_schema(headers, path)
    return SourceSpec(
        schema=det.family.name,
        columns=det.columns,
        ignored=det.ignored,
        convert=dict(det.family.convert),
        unit_unknown=det.family.unit_unknown,
        timezone=timezone,
    )


def _spec_for_user(path: Path, headers: list[str], cmap: ColumnMap, timezone: str) -> SourceSpec:
    c = cmap.columns
    columns: dict[str, str] = {"date": c.date, "site": c.station, "lat": c.lat, "lon": c.lon}
    convert = {}
    if c.time:
        columns["time"] = c.time
    if c.depth_category:
        columns["depth_category"] = c.depth_category
    for fld, spec in (("sample_depth_m", c.sample_depth), ("station_depth_m", c.station_depth)):
        if spec is not None:
            columns[fld] = spec.column
            convert[fld] = converter(fld, spec.unit)
    nondetect: dict[str, frozenset[str]] = {}
    lods = dict(cmap.bdl_lod)
    for v, spec in cmap.variables.items():
        columns[v] = spec.column
        convert[v] = converter(v, spec.unit)
        if spec.nondetect is not None:
            nondetect[v] = frozenset(t.strip().lower() for t in spec.nondetect.tokens)
            if spec.nondetect.lod is not None:
                lods[v] = spec.nondetect.lod
    missing = [h for h in columns.values() if h not in headers]
    ignore = set(cmap.ignore_columns)
    unknown = [h for h in headers if h not in set(columns.values()) | ignore]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"the column map names column(s) {missing} that the file lacks")
        if unknown:
            parts.append(f"column(s) {unknown} are neither mapped nor listed under ignore_columns")
        raise SchemaError(
            f"{path.name}: " + "; ".join(parts),
            "fix the column map: map each column under columns/variables or list it in ignore_columns",
        )
    words = dict(DEPTH_WORDS)
    words.update({k.strip().lower(): v for k, v in cmap.depth_categories.items()})
    return SourceSpec(
        schema="user",
        columns=columns,
        ignored=tuple(h for h in headers if h in ignore),
        convert=convert,
        timezone=timezone,
        date_format=cmap.date_format,
        time_format=cmap.time_format,
        depth_words=words,
        default_depth_category=cmap.default_depth_category,
        user=True,
        extra_missing=frozenset(t.strip().lower() for t in cmap.missing_tokens),
        bdl_lod=lods,
        nondetect=nondetect,
    )


def _input_hash(files: list[Path], column_map: Path | None, timezone: str | None, data_dir: Path) -> str:
    """Everything that changes the outputs: input bytes, column map, options, the station
    table used for coordinate repairs (a user may override it in <data-dir>/catalogs)."""
    h = hashlib.sha256()
    h.update(f"rules={RULES_VERSION};tz={timezone};".encode())
    if column_map is None:
        table = list_station_tables(data_dir).get(STATION_TABLE)
        if table is not None:
            h.update(b"stations\0" + table.read_bytes())
    for f in files:
        h.update(f.name.encode() + b"\0" + bytes.fromhex(_file_sha256(f)))
    if column_map is not None:
        h.update(b"colmap\0" + Path(column_map).read_bytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file read in 1 MiB blocks (inputs may be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def ingest_samples(
    files: Sequence[Path | str] | None = None,
    *,
    data_dir: Path,
    column_map: Path | None = None,
    timezone: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Read in-situ sample CSVs into ``<data_dir>/insitu/samples.parquet`` (GeoParquet).

    Args:
        files: CSV files or folders of them; ``None``/empty: the GLERL files bundled with
            spectm (2012–2022, 2024, 2025).
        data_dir: the spectm data directory (outputs go to ``insitu/``).
        column_map: a column-map YAML describing a user's own CSV (all ``files`` are read
            with it); without one, each file must be a known GLERL layout.
        timezone: IANA zone of the files' local times; overrides the default
            (America/New_York for GLERL) and the column map's ``timezone``.
        force: rebuild even when the outputs exist for the same inputs.

    Returns:
        :class:`IngestResult` with the samples GeoDataFrame, the rejected rows/cells, a
        per-file summary and the output paths.

    Raises:
        SchemaError: a file's headers are not a known layout (or do not fit the column map).
        ConfigError: the column map or the time zone is invalid.
        DataNotFoundError: an input file does not exist.
    """
    data_dir = Path(data_dir)
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
    digest = _input_hash(inputs, column_map, tz, data_dir)
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
    outcomes: list[tuple[Path, str, SourceSpec, _FileResult]] = []
    for path in inputs:
        headers, blocks, enc = iter_cells(path, cmap.encoding if cmap else None, cmap.delimiter if cmap else ",")
        spec = _spec_for_user(path, headers, cmap, tz) if cmap else _spec_for_glerl(path, headers, tz)
        out = _normalize_file(blocks, spec, path.name, stations)
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
    table = _finish_table(table)
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
                "sha256": _file_sha256(path),
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
        "totals": {
            k: v
            for k, v in IngestResult(table, rejected, summaries, paths).totals.__dict__.items()
            if k not in ("file", "schema", "encoding")
        },
        "repairs": [r for *_, o in outcomes for r in o.repairs],
        "duplicates": table.loc[table["sample_id"].str.match(r".*_\d+$"), "sample_id"].tolist(),
    }
    paths["samples"].parent.mkdir(parents=True, exist_ok=True)
    gdf = _to_geo(table)
    _atomic_write(paths["samples"], lambda p: gdf.to_parquet(p, index=False))
    _atomic_write(paths["rejected"], lambda p: rejected.to_csv(p, index=False))
    _atomic_write(paths["report"], lambda p: p.write_text(json.dumps(report, indent=2, default=str) + "\n"))
    return IngestResult(gdf, rejected, summaries, paths, report, skipped=False)


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


def _finish_table(df: pd.DataFrame) -> pd.DataFrame:
    """Order rows and columns, assign stable sample ids, fix dtypes."""
    df = df.sort_values(["date", "station", "depth_category", "source_file", "source_row"], kind="stable")
    df = df.reset_index(drop=True)
    base = (
        df["station"].str.replace(r"\s+", "", regex=True)
        + "_"
        + df["date"].str.replace("-", "", regex=False)
        + "_"
        + df["depth_category"]
    )
    n = base.groupby(base).cumcount()
    df.insert(0, "sample_id", base.where(n == 0, base + "_" + (n + 1).astype(str)))
    order = [
        "sample_id",
        "station",
        "station_kind",
        "time_utc",
        "date",
        "lat",
        "lon",
        "depth_category",
        "sample_depth_m",
        "station_depth_m",
    ]
    for v in VARIABLES:
        order += [v, f"{v}_censored", f"{v}_lod"]
    order += ["flags", "source_file", "source_row"]
    df = df[order]
    for c in [
        "lat",
        "lon",
        "sample_depth_m",
        "station_depth_m",
        *VARIABLES,
        *(f"{v}_lod" for v in VARIABLES),
    ]:
        df[c] = df[c].astype("float64")
    for v in VARIABLES:
        df[f"{v}_censored"] = df[f"{v}_censored"].astype(bool)
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    df["source_row"] = df["source_row"].astype("int64")
    for c in (
        "sample_id",
        "station",
        "station_kind",
        "date",
        "depth_category",
        "flags",
        "source_file",
    ):
        df[c] = df[c].astype(str)
    return df


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
    return IngestResult(gdf, rejected, summaries, paths, report, skipped=True)


def load_samples(data_dir: Path) -> gpd.GeoDataFrame:
    """Read ``<data_dir>/insitu/samples.parquet`` back (DataNotFoundError if it is missing)."""
    path = output_paths(Path(data_dir))["samples"]
    if not path.exists():
        raise DataNotFoundError(f"{path} does not exist", "run 'spectm samples ingest' first")
    return gpd.read_parquet(path)
