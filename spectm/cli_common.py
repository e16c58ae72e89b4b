"""Shared CLI state and option types, used by every command module.

Commands live next to their stage, each stage's in its own Typer app
(``spectm/<stage>/cli.py``), which :mod:`spectm.cli` mounts on the root app; this module
holds what they share so the global options (``--data-dir``, ``-v``, ``-q``) and
``--bbox``/``--dates`` parsing behave the same everywhere. It sits below the stage
packages (they import it, the root CLI sets :data:`state`), so no stage CLI needs to
import :mod:`spectm.cli` back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from spectm.aoi import AOI, parse_bbox
from spectm.checks import check_float
from spectm.console import log
from spectm.dates import DateRange, parse_dates

DEFAULT_DATA_DIR = "spectm-data"


@dataclass
class State:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("SPECTM_DATA", DEFAULT_DATA_DIR)))
    verbosity: int = 0
    quiet: bool = False


state = State()


def data_dir() -> Path:
    return state.data_dir


BBoxOpt = Annotated[
    str,
    typer.Option(
        "--bbox",
        help="Region name from catalogs/ (e.g. lake_erie), W,S,E,N in degrees, or a GeoJSON file.",
    ),
]
DatesOpt = Annotated[
    str,
    typer.Option(
        "--dates",
        help="2024-06:2024-10 (whole months), 2024-06-01:2024-06-15, or one day 2024-06-01.",
    ),
]


def config_option(help: str) -> Any:
    """The ``--config``/``-c`` option of a command that reads a pipeline YAML (an existing file)."""
    return typer.Option("--config", "-c", help=help, exists=True, dir_okay=False, readable=True)


def deprecated_alias(given: bool, old: str, new: str) -> bool:
    """An old spelling of a flag still works (hidden from --help) but says which one to use:
    spectm has one word for each thing (``--force`` for every "replace what exists")."""
    if given:
        log.warning("%s is deprecated; use %s", old, new)
    return given


def resolve_aoi(value: str) -> AOI:
    return parse_bbox(value, data_dir())


def resolve_dates(value: str) -> DateRange:
    return parse_dates(value)


def float_range(
    name: str,
    *,
    low: float | None = 0.0,
    low_inclusive: bool = False,
    high: float | None = None,
    high_inclusive: bool = True,
) -> Callable[[float | None], float | None]:
    """A Typer callback that refuses NaN, ±inf and out-of-range values of a float option
    with spectm's one-line error (exit 2) instead of failing later with a traceback."""

    def callback(value: float | None) -> float | None:
        return check_float(name, value, low=low, low_inclusive=low_inclusive, high=high, high_inclusive=high_inclusive)

    return callback
