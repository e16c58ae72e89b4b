"""``spectm samples ...``: ingest in-situ sample CSVs and show what was ingested."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import state

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

samples_app = typer.Typer(
    name="samples",
    help="In-situ samples: NOAA GLERL CSVs (bundled) or your own CSV -> insitu/samples.parquet.",
    no_args_is_help=True,
)
app.add_typer(samples_app, name="samples")


@samples_app.command("ingest")
def ingest_cmd(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="CSV files or folders of CSVs to ingest. Default: the NOAA GLERL western Lake Erie "
            "files bundled with spectm (2012–2022, 2024, 2025).",
            show_default=False,
        ),
    ] = None,
    column_map: Annotated[
        Path | None,
        typer.Option(
            "--column-map",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Column-map YAML for your own CSV: your column names -> spectm's, units, time zone, "
            "date format (example in docs/samples.md). Without it every file must be a known GLERL layout.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA time zone of the local sample times, e.g. America/Chicago. Overrides the default "
            "(America/New_York for GLERL files) and the column map's 'timezone'.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Rebuild the outputs even if they exist for the same inputs and options.",
        ),
    ] = False,
) -> None:
    """Read sample CSVs into <data-dir>/insitu/samples.parquet (GeoParquet, EPSG:4326).

    Censored values (<0.1, bdl) are stored as value = detection limit with <var>_censored and <var>_lod; nd, ns and blank are missing and counted.

    Rows or cells that cannot be used go to insitu/rejected_rows.csv with a reason; per-file counts go to insitu/ingest_report.json. Re-running with the same inputs does nothing unless --force.
    """
    from spectm.samples.ingest import ingest_samples

    ingest_samples(
        files or None,
        data_dir=state.data_dir,
        column_map=column_map,
        timezone=timezone,
        force=force,
    ).print_details()


@samples_app.command("show")
def show_cmd(
    by: Annotated[
        str,
        typer.Option("--by", help="Group the counts by: year, station, depth or kind."),
    ] = "year",
) -> None:
    """Summarise insitu/samples.parquet: samples, dates, stations and PMC detected/censored per group."""
    from spectm.samples.ingest import load_samples
    from spectm.samples.summary import print_samples_overview

    if by not in {"year", "station", "depth", "kind"}:
        raise typer.BadParameter(f"'{by}' is not one of: year, station, depth, kind", param_hint="--by")
    print_samples_overview(load_samples(state.data_dir), by)
