"""What the samples stage returns: :class:`IngestResult`, the one stage result with the rows
kept and rejected per file, and the tables ``spectm samples ingest`` and ``spectm run`` print."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from spectm.console import console, print_table
from spectm.contract import StageResult


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


def totals_of(files: list[FileSummary]) -> FileSummary:
    """The sums over ``files`` as one ``total`` row."""
    return FileSummary(
        file="total",
        schema="",
        encoding="",
        rows_read=sum(f.rows_read for f in files),
        rows_kept=sum(f.rows_kept for f in files),
        rows_rejected=sum(f.rows_rejected for f in files),
        cells_rejected=sum(f.cells_rejected for f in files),
        pmc_detected=sum(f.pmc_detected for f in files),
        pmc_censored=sum(f.pmc_censored for f in files),
        nondetects=sum(f.nondetects for f in files),
    )


@dataclass(kw_only=True)
class IngestResult(StageResult):
    """What :func:`~spectm.samples.ingest.ingest_samples` produced (``done``) or found already
    complete for the same inputs (``skipped``)."""

    stage: str = "samples"
    samples: gpd.GeoDataFrame
    rejected: pd.DataFrame
    files: list[FileSummary]
    paths: dict[str, Path]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> FileSummary:
        return totals_of(self.files)

    @property
    def duplicates(self) -> list[str]:
        """Sample ids of rows repeating an earlier station/day/depth (the ``_2``, ``_3`` ids)."""
        return list(self.report.get("duplicates", []))

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        t = self.totals
        summary = (
            f"{t.rows_kept} kept, {t.rows_rejected} rejected of {t.rows_read} rows; "
            f"PMC {t.pmc_detected} detected, {t.pmc_censored} censored"
            + (f"; {t.nondetects} non-detects censored" if t.nondetects else "")
            + (f"; {len(self.duplicates)} duplicate station/day rows" if self.duplicates else "")
        )
        counts: dict[str, int | float] = {
            "rows_read": t.rows_read,
            "rows_kept": t.rows_kept,
            "rows_rejected": t.rows_rejected,
        }
        return summary, list(self.paths.values()), counts

    def print_details(self) -> None:
        """Per file: schema, encoding, rows read / kept / rejected, cells rejected, PMC counts
        (and the column map's non-detect cells, censored, when a file has any)."""
        nd = any(f.nondetects for f in self.files)
        rows = [_row(f, nd) for f in [*self.files, self.totals]]
        title = "Samples ingest" + (" (up to date, nothing re-read; --force to rebuild)" if self.skipped else "")
        header = ["file", "schema", "encoding", "rows read", "kept", "rejected", "cells rejected"]
        header += ["PMC detected", "PMC censored", *(("non-detects",) if nd else ())]
        print_table(title, header, rows)
        dup = self.duplicates
        if dup:
            shown = ", ".join(dup[:5]) + (", …" if len(dup) > 5 else "")
            console.print(
                f"warning: {len(dup)} row(s) repeat an earlier station/day/depth ({shown}); kept "
                "with a numbered sample_id — check for duplicated rows in the input"
            )
        console.print(
            f"wrote {self.paths['samples']} ({len(self.samples)} samples); "
            f"rejected rows/cells with reasons: {self.paths['rejected']}; report: {self.paths['report']}"
        )


def _row(f: FileSummary, nd: bool) -> tuple:
    return (
        f.file,
        f.schema,
        f.encoding,
        f.rows_read,
        f.rows_kept,
        f.rows_rejected,
        f.cells_rejected,
        f.pmc_detected,
        f.pmc_censored,
        *((f.nondetects,) if nd else ()),
    )
