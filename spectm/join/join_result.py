"""What :func:`spectm.join.join` made (or found), and its summary for the terminal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import xarray as xr

from spectm.console import log, print_table
from spectm.contract import StageResult, Status
from spectm.join import store
from spectm.join.matchup import REASONS
from spectm.join.splits import SPLITS


@dataclass(kw_only=True)
class JoinResult(StageResult):
    """What :func:`join` made (status ``done``) or found complete (``skipped``): the match-ups,
    the chips and the manifest, whose nested ``counts`` are the numbers behind every table."""

    stage: str = "join"
    name: str
    path: Path
    matchups: gpd.GeoDataFrame
    unmatched: pd.DataFrame
    chips: xr.Dataset
    manifest: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> tuple[str, list[str | Path], dict[str, int | float]]:
        """Matched/considered per horizon and the chip total; the flat counts are the matched
        samples per horizon (``matched_current`` …) and ``chips``."""
        c = self.manifest.get("counts", {})
        h = c.get("horizons", {})
        parts = [f"{k} {v.get('matched', 0)}/{v.get('considered', 0)}" for k, v in h.items()]
        n_chips = c.get("chips", {}).get("total", 0)
        counts: dict[str, int | float] = {f"matched_{k}": v.get("matched", 0) for k, v in h.items()}
        counts["chips"] = n_chips
        return f"features/{self.name}: matched {', '.join(parts)}; {n_chips} chips", [self.path], counts

    def print_details(self) -> None:
        """Samples considered, matched and unmatched by reason, per sensor and horizon; chips per split."""
        c = self.manifest.get("counts", {})
        sensor = self.manifest.get("params", {}).get("sensor", "?")
        rows = []
        for hz, v in c.get("horizons", {}).items():
            un = v.get("unmatched", {})
            rows.append(
                (f"{sensor} {hz}", v.get("considered", 0), v.get("matched", 0), *[un.get(r, 0) for r in REASONS])
            )
        print_table(
            f"Match-ups, features/{self.name} ({self.status})", ["sensor horizon", "samples", "matched", *REASONS], rows
        )
        ch = c.get("chips", {})
        split_rows = [
            (
                s,
                c.get("matchups_by_split", {}).get(s, 0),
                ch.get("by_split", {}).get(s, {}).get("matchup", 0),
                ch.get("by_split", {}).get(s, {}).get("unlabeled", 0),
            )
            for s in SPLITS
        ]
        ex = ch.get("excluded_leak", {})
        split_rows.append(
            (
                "excluded",
                c.get("matchups_by_split", {}).get("excluded", 0),
                ex.get("matchup", 0),
                ex.get("unlabeled", 0),
            )
        )
        print_table(
            "Splits (excluded = inside the leakage buffer of a later split)",
            ["split", "match-ups", "match-up chips", "unlabeled chips"],
            split_rows,
        )
        filt = c.get("samples", {}).get("filtered", {})
        if filt:
            log.info("samples left out before matching: %s", ", ".join(f"{k} {v}" for k, v in filt.items()))


def load_result(data_dir: Path, name: str, status: Status, manifest: dict, seconds: float) -> JoinResult:
    """The result of a finished store, loaded from ``features/<name>/``."""
    return JoinResult(
        name=name,
        path=store.store_dir(data_dir, name),
        status=status,
        matchups=store.load_matchups(data_dir, name),
        unmatched=store.load_unmatched(data_dir, name),
        chips=store.load_chips(data_dir, name),
        manifest=manifest,
        seconds=seconds,
    )
