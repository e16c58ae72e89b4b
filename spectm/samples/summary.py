"""Render the samples table as the counts ``spectm samples show`` prints (the ingest tables are
:meth:`spectm.samples.ingest_result.IngestResult.print_details`)."""

from __future__ import annotations

import pandas as pd

from spectm.console import print_table


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
