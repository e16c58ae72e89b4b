"""Console output shared by every command: logging, rich tables and progress.

Progress bars appear only when stderr is a terminal and ``-q`` was not given, so
logs of batch jobs (and CI) are not filled with bar redraws.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from spectm.library_warnings import quiet_library_warnings
from spectm.redact import RedactingFilter

log = logging.getLogger("spectm")


@dataclass
class OutputSettings:
    verbosity: int = 0
    quiet: bool = False


settings = OutputSettings()
# Not a terminal (pipes, CI logs): use a wide console so tables are not truncated.
console = Console(stderr=False, highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def configure(verbosity: int = 0, quiet: bool = False) -> None:
    """Set the log level from ``-v`` count / ``-q`` (WARNING, INFO, DEBUG)."""
    settings.verbosity = verbosity
    settings.quiet = quiet
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    root = logging.getLogger("spectm")
    root.handlers.clear()
    handler = RichHandler(console=err_console, show_path=verbosity >= 2, show_time=verbosity >= 1, markup=False)
    handler.addFilter(RedactingFilter())  # no signed URL or password reaches the terminal or a log file
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False

    quiet_library_warnings(verbosity == 0)


def progress_enabled() -> bool:
    return not settings.quiet and sys.stderr.isatty()


@contextmanager
def progress(kind: str = "items") -> Iterator[Progress]:
    """A rich Progress (disabled when not a TTY or ``-q``); ``kind='bytes'`` shows transfer speed."""
    cols: list = [TextColumn("[bold]{task.description}"), BarColumn()]
    if kind == "bytes":
        cols += [DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    else:
        cols += [MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*cols, console=err_console, disable=not progress_enabled(), transient=False) as p:
        yield p


def print_table(title: str, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
    """Print a summary table to stdout (also when quiet: the summary is the result)."""
    table = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right", overflow="fold")
    for r in rows:
        table.add_row(*[_fmt(v) for v in r])
    console.print(table)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
