"""Render ingest results and the samples table as the tables the CLI and ``spectm run`` print."""

from __future__ import annotations

import pandas as pd

from spectm.console import console, print_table
from spectm.samples.ingest import IngestResult


def print_ingest_summary(result: IngestResult) -> None:
    """Per file: schema, encoding, rows read / kept / rejected, cells rejected, PMC counts
    (and the column map's non-detect cells, censored, when a file has any)."""
    nd = any(f.nondetects for f in result.files)
    rows = [
        (
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
        for f in result.files
    ]
    t = result.totals
    rows.append(
        (
            "total",
            "",
            "",
            t.rows_read,
            t.rows_kept,
            t.rows_rejected,
            t.cells_rejected,
            t.pmc_detected,
            t.pmc_censored,
            *((t.nondetects,) if nd else ()),
        )
    )
    title = "Samples ingest" + (" (up to date, nothing re-read; --force to rebuild)" if result.skipped else "")
    print_table(
        title,
        [
            "file",
            "schema",
            "encoding",
            "rows read",
            "kept",
            "rejected",
            "cells rejected",
            "PMC detected",
            "PMC censored",
            *(("non-detects",) if nd else ()),
        ],
        rows,
    )
    dup = result.duplicates
    if dup:
        shown = ", ".join(dup[:5]) + (", …" if len(dup) > 5 else "")
        console.print(
            f"warning: {len(dup)} row(s) repeat an earlier station/day/depth ({shown}); kept "
            "with a numbered sample_id — check for duplicated rows in the input"
        )
    console.print(
        f"wrote {result.paths['samples']} ({len(result.samples)} samples); "
        f"rejected rows/cells with reasons: {result.paths['rejected']}; report: {result.paths['report']}"
    )


def summary_line(result: IngestResult) -> str:
    t = result.totals
    return (
        f"{t.rows_kept} kept, {t.rows_rejected} rejected of {t.rows_read} rows; "
        f"PMC {t.pmc_detected} detected, {t.pmc_censored} censored"
        + (f"; {t.nondetects} non-detects censored" if t.nondetects else "")
        + (f"; {len(result.duplicates)} duplicate station/day rows" if result.duplicates else "")
    )


def print_samples_overview(samples: pd.DataFrame, by: str = "year") -> None:
    """Counts per year / station / depth category with PMC detected and censored."""
    df = pd.DataFrame(samples.drop(columns="geometry", errors="ignore"))
    key = {
        "year": df["date"].str[:4],
        "station": df["station"],
        "depth": df["depth_category"],
        "kind": df["station_kind"],
    }[by]
    det = df["pmc_ugL"].notna() & ~df["pmc_ugL_censored"]
    rows = []
    for k, g in df.groupby(key, sort=True):
        d = det.loc[g.index]
        rows.append(
            (
                str(k),
                len(g),
                int((g["depth_category"] == "surface").sum()),
                int((g["depth_category"] == "bottom").sum()),
                int((g["depth_category"] == "scum").sum()),
                g["date"].nunique(),
                g.loc[g["station_kind"] == "station", "station"].nunique(),
                int(d.sum()),
                int(g["pmc_ugL_censored"].sum()),
                float(g.loc[d, "pmc_ugL"].median()) if d.any() else float("nan"),
                float(g.loc[d, "pmc_ugL"].max()) if d.any() else float("nan"),
            )
        )
    print_table(
        f"Samples by {by}",
        [
            by,
            "samples",
            "surface",
            "bottom",
            "scum",
            "dates",
            "stations",
            "PMC detected",
            "PMC censored",
            "PMC median µg/L",
            "PMC max µg/L",
        ],
        rows,
    )
