"""The ``spectm`` command line: thin — parse, call the Python API, render the result.

This module is the top layer: the root app, its global options, ``spectm run`` and
``spectm catalogs``. Every stage keeps its commands in its own Typer app in
``spectm/<stage>/cli.py``, mounted below, so a command's code is two hops from its name:

=====================================================  ==========================
command                                                module
=====================================================  ==========================
``samples ingest|show``                                :mod:`spectm.samples.cli`
``fetch``, ``catalog add``                             :mod:`spectm.fetch.cli`
``twin generate|quicklook``                            :mod:`spectm.twin.cli`
``build-cube``, ``cube info|verify|quicklook|aggregate``  :mod:`spectm.cube.cli`
``join``, ``features list|show|export``                :mod:`spectm.join.cli`
``train``, ``train pretrain|synth-chips``              :mod:`spectm.pretrain.cli`
``train regress``                                      :mod:`spectm.regress.cli`
``evaluate run|report``                                :mod:`spectm.evaluate.cli`
``predict``                                            :mod:`spectm.predict.cli`
=====================================================  ==========================

Stage CLIs share option types and the global state through :mod:`spectm.cli_common`; none
imports this module, so the import graph has no cycle (``make test`` checks the layers
with import-linter, see pyproject.toml).

Errors raised on purpose (:class:`spectm.errors.SpectmError`) become one line on
stderr with the remedy and the error's exit code (2 for bad input); a traceback is
shown only with ``-vv``.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from typer.core import TyperOption

from spectm import __version__, catalogs
from spectm.cli_common import DEFAULT_DATA_DIR, state
from spectm.config import load_pipeline
from spectm.console import configure, console, err_console, print_table
from spectm.cube import cli as cube_cli
from spectm.errors import SpectmError
from spectm.evaluate import cli as evaluate_cli
from spectm.fetch import cli as fetch_cli
from spectm.join import cli as join_cli
from spectm.pipeline import run_pipeline
from spectm.predict import cli as predict_cli
from spectm.pretrain import cli as pretrain_cli
from spectm.redact import redact
from spectm.regress import cli as regress_cli
from spectm.samples import cli as samples_cli
from spectm.twin import cli as twin_cli

app = typer.Typer(
    name="spectm",
    help="Prepare PACE OCI / Sentinel-2 data and lake samples, and train HAB models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


_display_type_rich = TyperOption.display_type_rich


def _flag_display_type(self: TyperOption, ctx: object) -> str | None:
    """Typer's rich help prints ``<bool>`` next to every on/off flag (``--force <bool>``), which
    reads as if the flag took a value; flags take none, so their type column stays empty
    (as in Click's plain help)."""
    if self.is_bool_flag:
        return None
    return _display_type_rich(self, ctx)  # type: ignore[arg-type]


TyperOption.display_type_rich = _flag_display_type  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        console.print(f"spectm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, help="More output: -v info, -vv debug (and tracebacks).")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Only errors and final summaries; no progress bars.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="SPECTM_DATA",
            help="Data directory holding raw/, insitu/, cubes/, features/, runs/ [default: ./spectm-data].",
        ),
    ] = None,
) -> None:
    """spectm: satellite data and lake samples to microcystin models."""
    state.verbosity = verbose
    state.quiet = quiet
    # every invocation decides afresh (main() may run several commands in one process, e.g. a
    # notebook or the tests): --data-dir, else SPECTM_DATA (typer's envvar), else ./spectm-data
    state.data_dir = data_dir if data_dir is not None else Path(DEFAULT_DATA_DIR)
    configure(verbose, quiet)


@app.command("catalogs")
def catalogs_cmd(
    kind: Annotated[str, typer.Argument(help="What to list: regions, sources, stations or all.")] = "all",
) -> None:
    """List the regions, data sources and station tables spectm knows."""
    if kind not in {"all", "regions", "sources", "stations"}:
        raise typer.BadParameter(f"'{kind}' is not one of: all, regions, sources, stations")
    dd = state.data_dir
    if kind in ("all", "regions"):
        rows = []
        for name, r in catalogs.list_regions(dd).items():
            res = ", ".join(f"{k} {v:g} m" for k, v in r.resolution.items())
            rows.append((name, r.title, ",".join(f"{v:g}" for v in r.bbox), r.crs, res, "yes" if r.water else "no"))
        print_table("Regions", ["name", "title", "bbox W,S,E,N", "CRS", "grid", "water polygon"], rows)
    if kind in ("all", "sources"):
        rows = []
        for name, s in catalogs.list_sources(dd).items():
            if s.kind == "earthaccess":
                what = f"{s.short_name} v{s.version} @ {s.provider}"
            else:
                what = f"{s.collection} @ {s.url}"
            rows.append((name, s.kind, s.sensor, what))
        print_table("Sources", ["name", "via", "sensor", "collection"], rows)
    if kind in ("all", "stations"):
        rows = []
        for name, _path in catalogs.list_station_tables(dd).items():
            df = catalogs.load_stations(name, dd)
            rows.append((name, len(df), ", ".join(df["station"].astype(str))))
        print_table("Station tables", ["name", "stations", "ids"], rows)


@app.command("run")
def run_cmd(
    pipeline_file: Annotated[
        Path, typer.Argument(help="Pipeline YAML (see pipelines/).", exists=True, dir_okay=False, readable=True)
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace outputs built from other inputs or parameters (a feature store, the twin's raw/) instead of refusing; complete work of the same inputs is still reused.",
        ),
    ] = False,
) -> None:
    """Run every stage a pipeline file names, in order, skipping work that is complete."""
    pipeline = load_pipeline(pipeline_file)
    dd = (
        Path(pipeline.data_dir)
        if pipeline.data_dir and "SPECTM_DATA" not in os.environ and state.data_dir == Path("spectm-data")
        else state.data_dir
    )
    run_pipeline(pipeline, dd, pipeline_file=pipeline_file, force=force)


# Each stage's own app, mounted without a name: its commands and groups sit at the root, in
# pipeline order (the table in the module docstring says which module holds which command).
for _stage_app in (
    samples_cli.app,
    fetch_cli.app,
    twin_cli.app,
    cube_cli.app,
    join_cli.app,
    pretrain_cli.app,
    evaluate_cli.app,
    predict_cli.app,
):
    app.add_typer(_stage_app)
pretrain_cli.train_app.add_typer(regress_cli.app)  # ``spectm train regress``


_GLOBAL_FLAG = re.compile(r"^(-v+|-q|--verbose|--quiet)$")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move ``-v``/``-vv``/``-q`` (and their long forms) given after the subcommand to the front.

    Users type ``spectm build-cube -v …`` as often as ``spectm -v build-cube …``; Click only
    accepts the root's options before the subcommand, so they are moved there (nothing after
    a ``--`` is touched; no subcommand defines ``-v`` or ``-q`` of its own).
    """
    head, tail = [], []
    for i, tok in enumerate(argv):
        if tok == "--":
            tail.extend(argv[i:])
            break
        (head if _GLOBAL_FLAG.match(tok) else tail).append(tok)
    return head + tail


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping spectm errors to exit codes."""
    args = hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args, prog_name="spectm", standalone_mode=True)
    except SpectmError as exc:
        if state.verbosity >= 2 or os.environ.get("SPECTM_TRACEBACK"):
            # as text through redact(): exception messages can quote signed URLs
            tb = "".join(traceback.format_exception(exc))
            err_console.print(redact(tb), markup=False, highlight=False)
        err_console.print(f"[bold red]error:[/] {escape(redact(exc.message))}", markup=True, highlight=False)
        if exc.remedy:
            err_console.print(f"  remedy: {redact(exc.remedy)}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
