"""``spectm twin``: generate the offline Lake Erie twin and look at it."""

from __future__ import annotations

from typing import Annotated

import typer

from spectm.cli_common import data_dir, float_range
from spectm.console import console
from spectm.dates import parse_dates

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

twin_app = typer.Typer(
    help="The offline Lake Erie twin: PACE OCI, Sentinel-2 and samples as fetch writes them.", no_args_is_help=True
)
app.add_typer(twin_app, name="twin")


@twin_app.command("generate")
def generate_cmd(
    region: Annotated[
        str, typer.Option("--region", "--bbox", help="Region name, W,S,E,N or GeoJSON.")
    ] = "lake_erie_western_basin",
    dates: Annotated[
        str,
        typer.Option("--dates", help="2024-06:2024-10, 2024-06-01:2024-06-15 or a day; with --months, several years."),
    ] = "2024-06:2024-10",
    months: Annotated[
        str | None, typer.Option("--months", help="Season months M-N, e.g. 6-10: one season per year of --dates.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")] = 0,
    pace_resolution: Annotated[
        float, typer.Option("--pace-resolution", callback=float_range("--pace-resolution"), help="PACE pixel size, m.")
    ] = 1200.0,
    s2_resolution: Annotated[
        float,
        typer.Option(
            "--s2-resolution",
            callback=float_range("--s2-resolution"),
            help="S2 base (10 m class) pixel size, m; 20/60 m classes scale 2x/6x.",
        ),
    ] = 60.0,
    revisit: Annotated[int, typer.Option("--s2-revisit", min=1, help="Days between Sentinel-2 scenes.")] = 5,
    no_s2: Annotated[bool, typer.Option("--no-s2", help="PACE only.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing raw/ data.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Processes simulating seasons at once (default: one per core, at most 4)."
        ),
    ] = None,
) -> None:
    """Write raw/ (PACE, S2, catalog, manifest) and insitu/samples.parquet for a region and dates."""
    from spectm.twin.generate import generate_twin

    res = generate_twin(
        region,
        dates,
        data_dir=data_dir(),
        months=months,
        seed=seed,
        pace_resolution_m=pace_resolution,
        s2_resolution_m=s2_resolution,
        s2_revisit_days=revisit,
        include_s2=not no_s2,
        force=force,
        workers=workers,
    )
    console.print(f"{res.status}: {res.summary}", markup=False)


@twin_app.command("quicklook")
def quicklook_cmd(
    date_: Annotated[str, typer.Option("--date", help="Day to draw, YYYY-MM-DD.")],
) -> None:
    """Write a true-colour and an NDCI PNG of one day's PACE granule to <data-dir>/quicklooks."""
    from spectm.twin.quicklook import quicklook

    day = parse_dates(date_).start
    for p in quicklook(data_dir(), day):
        console.print(str(p))
