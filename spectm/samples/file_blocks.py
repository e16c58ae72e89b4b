"""One file through the samples contract, block by block, merged into one :class:`FileResult`.

:func:`spectm.samples.normalize.normalize` sees one block of rows at a time (see
:data:`spectm.samples.csv_cells.CHUNK_ROWS`); this module shifts each block's row numbers to
count from the file's start and adds up its counts, so the reports read as if the file had
been normalized in one piece.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from spectm.samples.normalize import SourceSpec, empty_rows, normalize

REJECTED_COLUMNS = ["file", "row", "column", "value", "reason", "scope"]


@dataclass
class FileResult:
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


def normalize_file(
    blocks: Iterator[pd.DataFrame], spec: SourceSpec, name: str, stations: pd.DataFrame | None
) -> FileResult:
    """:func:`normalize` block by block; row numbers are shifted to count from the file's start."""
    rows, rejected = [], []
    res = FileResult(rows=pd.DataFrame(), rejected=pd.DataFrame(columns=REJECTED_COLUMNS), repairs=[])
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


__all__ = ["REJECTED_COLUMNS", "FileResult", "normalize_file"]
