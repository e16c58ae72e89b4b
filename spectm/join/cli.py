"""``spectm join``, ``spectm features list``, ``spectm features show NAME`` and ``spectm features export NAME``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import float_range, state
from spectm.console import console, print_table
from spectm.errors import BadInputError

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

features_app = typer.Typer(help="Inspect and export feature stores (features/<name>/).", no_args_is_help=True)
app.add_typer(features_app, name="features")


@app.command("join")
def join_cmd(
    name: Annotated[str, typer.Option("--name", help="Feature store name: features/<name>/.")] = "default",
    sensor: Annotated[str, typer.Option("--sensor", help="pace or s2.")] = "pace",
    cube: Annotated[
        str | None, typer.Option("--cube", help="Cube region name (cubes/<cube>_<sensor>.zarr); default: the only one.")
    ] = None,
    time_window: Annotated[
        int, typer.Option("--time-window", help="± days around the target day (0 = same local day).")
    ] = 1,
    lead_days: Annotated[
        int, typer.Option("--lead-days", help="Ahead horizon: imagery this many days before the sample.")
    ] = 8,
    pixel_window: Annotated[int, typer.Option("--pixel-window", help="Odd window side in cells: 1, 3, 5...")] = 3,
    min_valid: Annotated[
        float,
        typer.Option(
            "--min-valid",
            callback=float_range("--min-valid", low_inclusive=True, high=1.0),
            help="Minimum valid pixels / window pixels.",
        ),
    ] = 0.5,
    agg: Annotated[str, typer.Option("--agg", help="median (spread: IQR) or mean (spread: std).")] = "median",
    include_scum: Annotated[bool, typer.Option("--include-scum", help="Also match scum samples.")] = False,
    chip_size: Annotated[int, typer.Option("--chip-size", help="Chip side in cells.")] = 8,
    chip_time: Annotated[int, typer.Option("--chip-time", help="Time steps per chip (the last is the match-up).")] = 1,
    unlabeled_per_date: Annotated[
        int, typer.Option("--unlabeled-per-date", help="Pretraining chips per cube date (0: none).")
    ] = 32,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="auto (season with ≥ 3 seasons, else period), season (whole seasons), "
            "period (contiguous per season), time (date blocks) or station.",
        ),
    ] = "auto",
    val_seasons: Annotated[
        str | None, typer.Option("--val-seasons", help="Season split: validation season(s), e.g. 2022.")
    ] = None,
    test_seasons: Annotated[
        str | None, typer.Option("--test-seasons", help="Season split: test season(s), e.g. 2024.")
    ] = None,
    block_days: Annotated[
        int, typer.Option("--block-days", help="Time split block length (0: one block per season).")
    ] = 14,
    test_stations: Annotated[
        str | None, typer.Option("--test-stations", help="Station split: held-out stations, comma-separated.")
    ] = None,
    val_stations: Annotated[
        str | None, typer.Option("--val-stations", help="Station split: validation stations.")
    ] = None,
    buffer_km: Annotated[
        float,
        typer.Option(
            "--buffer-km", callback=float_range("--buffer-km", low_inclusive=True), help="Leakage buffer in space."
        ),
    ] = 2.0,
    buffer_days: Annotated[int, typer.Option("--buffer-days", help="Leakage buffer in time.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Seeds chip sampling and the station draw.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a store built from other inputs or parameters.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show what would be built (store status, match-up candidates, chips); write nothing."
        ),
    ] = False,
) -> None:
    """Match samples to the cube and write the feature store (match-ups, chips, splits, manifest)."""
    from spectm.join.plan import plan_join, plan_rows
    from spectm.join.run import join

    def _list(v: str | None) -> list[str] | None:
        return [s.strip() for s in v.split(",") if s.strip()] if v else None

    def _years(v: str | None) -> list[int] | None:
        try:
            return [int(s) for s in _list(v) or []] or None
        except ValueError:
            raise BadInputError(f"seasons {v!r} are not years", "pass years, comma-separated, e.g. 2022,2023") from None

    res = (plan_join if dry_run else join)(
        name,
        data_dir=state.data_dir,
        force=force,
        sensor=sensor,
        cube=cube,
        time_window_days=time_window,
        lead_days=lead_days,
        pixel_window=pixel_window,
        min_valid_fraction=min_valid,
        aggregation=agg,
        include_scum=include_scum,
        chip_size=chip_size,
        chip_time=chip_time,
        unlabeled_per_date=unlabeled_per_date,
        split=split,
        block_days=block_days,
        val_seasons=_years(val_seasons),
        test_seasons=_years(test_seasons),
        test_stations=_list(test_stations),
        val_stations=_list(val_stations),
        buffer_km=buffer_km,
        buffer_days=buffer_days,
        seed=seed,
    )
    if dry_run:
        print_table(f"join --dry-run: features/{name} (nothing written)", ["what", "would be"], plan_rows(res))
        return
    res.print_details()
    console.print(f"{res.status}: {res.summary} ({res.seconds:.1f} s) -> {res.path}")


@features_app.command("list")
def list_cmd() -> None:
    """List the feature stores in the data directory."""
    from spectm.join.show import list_rows

    rows = list_rows(state.data_dir)
    if not rows:
        console.print(f"no feature stores in {Path(state.data_dir) / 'features'}; run `spectm join`")
        return
    print_table("Feature stores", ["name", "sensor", "cube", "current", "ahead", "chips", "split", "created"], rows)


@features_app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="Feature store name.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output file (.csv or .gpkg).")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or gpkg (default: from the file suffix).")] = None,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="Only current or ahead match-ups (default: both).")
    ] = None,
) -> None:
    """Export the match-ups as CSV (lon/lat columns) or GeoPackage (points, EPSG:4326) for GIS and spreadsheets."""
    from spectm.join.export import export_matchups

    path, n = export_matchups(state.data_dir, name, out, fmt=fmt, horizon=horizon)
    console.print(f"exported {n} match-ups of features/{name} -> {path}")


@features_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Feature store name.")],
    png: Annotated[
        Path | None, typer.Option("--png", help="Write a scatter of an index against the label here.")
    ] = None,
    index: Annotated[
        str | None, typer.Option("--index", help="Index for the scatter (default: ci, else the first).")
    ] = None,
    horizon: Annotated[str, typer.Option("--horizon", help="current or ahead (scatter).")] = "current",
) -> None:
    """Counts per station, month and split; unmatched reasons; chips; a leakage check; optional PNG."""
    from spectm.join.show import chip_leaks, manifest_brief, scatter_png, tables
    from spectm.join.store import _require, read_manifest

    _require(state.data_dir, name)
    man = read_manifest(state.data_dir, name) or {}
    print_table(f"features/{name}", ["field", "value"], manifest_brief(man))
    for key, df in tables(state.data_dir, name).items():
        title = {
            "station": "Match-ups per station",
            "month": "Match-ups per month",
            "split": "Match-ups per split",
            "chips": "Chips per split",
            "unmatched": "Unmatched samples by reason",
        }[key]
        print_table(title, [str(c) for c in df.columns], df.itertuples(index=False))
    leaks = chip_leaks(state.data_dir, name)
    console.print(
        "leakage check: "
        + (
            "ok, no chip shares pixels and dates with a chip of another split"
            if not leaks
            else f"FAILED, {len(leaks)} chip pairs across splits overlap"
        )
    )
    if png is not None:
        out = scatter_png(state.data_dir, name, png, index=index, horizon=horizon)
        console.print(f"scatter plot -> {out}")
