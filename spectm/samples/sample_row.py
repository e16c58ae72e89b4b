"""The types the samples contract works on: how to read a file, one typed row, the ledger.

:func:`spectm.samples.normalize.normalize` applies its six steps to a list of
:class:`SampleRow` and writes every rejection, repair and count to one :class:`Ledger`, so
each step is a small function that takes typed rows instead of loose dictionaries, and the
order in which rejections and repairs are recorded (which the reports keep) is the order in
which the steps run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import pandas as pd

from spectm.samples.tokens import Parsed

DEPTH_WORDS: dict[str, str] = {
    "surface": "surface",
    "s": "surface",
    "bottom": "bottom",
    "b": "bottom",
    "scum": "scum",
    "mid-column": "mid",
    "mid column": "mid",
    "mid": "mid",
    "m": "mid",
}


@dataclass
class SourceSpec:
    """How to read one file's columns (from a GLERL family or a user's column map)."""

    schema: str
    columns: dict[str, str]
    ignored: tuple[str, ...] = ()
    convert: dict[str, Callable[[float], float]] = field(default_factory=dict)
    unit_unknown: tuple[str, ...] = ()
    timezone: str = "America/New_York"
    date_format: str | None = None
    time_format: str | None = None
    depth_words: dict[str, str] = field(default_factory=lambda: dict(DEPTH_WORDS))
    default_depth_category: str | None = None
    user: bool = False
    extra_missing: frozenset[str] = frozenset()
    bdl_lod: dict[str, float] = field(default_factory=dict)
    # Per variable: the lab's non-detect words (lower case) -> a censored value at the LOD.
    nondetect: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class SampleRow:
    """One input row after its identity and cells were read (steps 1–3), before the
    file-wide steps (coordinates, inheritance, flags) fill and flag it."""

    row: int
    date: date
    time: time | None
    site: str
    kind: str
    cat: str
    lat: float | None
    lon: float | None
    station_depth_m: float | None
    sample_depth_m: float | None
    parsed: dict[str, Parsed]
    flags: list[str]
    sample_temp: Parsed | None


@dataclass
class Ledger:
    """Everything a file's rows are counted under: rejections, repairs and per-variable tallies.

    Rejections and repairs are kept in the order they were recorded; the reports keep it.
    """

    file_name: str
    columns: dict[str, str]
    rejected: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    missing: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    censored: Counter[str] = field(default_factory=Counter)
    detected: Counter[str] = field(default_factory=Counter)
    nondetect: Counter[str] = field(default_factory=Counter)
    not_carried: Counter[str] = field(default_factory=Counter)

    def reject(self, row: int, column: str, value: object, reason: str, scope: str = "row") -> None:
        """A row (``scope='row'``: not kept) or one cell (``'cell'``: set to missing) refused."""
        self.rejected.append(
            {
                "file": self.file_name,
                "row": row,
                "column": column,
                "value": "" if value is None else str(value),
                "reason": reason,
                "scope": scope,
            }
        )

    def repair(self, row: int, field_name: str, old: object, new: object, reason: str) -> None:
        """A value changed, with the column it came from (the repairs log)."""
        self.repairs.append(
            {
                "file": self.file_name,
                "row": row,
                "column": self.columns[field_name],
                "old": old,
                "new": new,
                "reason": reason,
            }
        )


@dataclass
class FileOutcome:
    """Everything one file produced."""

    rows: pd.DataFrame
    rejected: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    rows_read: int
    missing: dict[str, dict[str, int]]
    censored: dict[str, int]
    detected: dict[str, int]
    bdl_lods: dict[str, float]
    flags: dict[str, int]
    not_carried_values: dict[str, int]
    nondetect: dict[str, int] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return len(self.rows)

    @property
    def rows_rejected(self) -> int:
        return len({r["row"] for r in self.rejected if r["scope"] == "row"})

    @property
    def cells_rejected(self) -> int:
        return sum(1 for r in self.rejected if r["scope"] == "cell")


__all__ = ["DEPTH_WORDS", "FileOutcome", "Ledger", "SampleRow", "SourceSpec"]
