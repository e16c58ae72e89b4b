"""CLI: ``spectm build-cube`` and ``spectm cube info|verify|quicklook``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import float_range, resolve_aoi, resolve_dates, state
from spectm.console import console, print_table
from spectm.errors import BadInputError, StageError

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

cube_app = typer.Typer(help="Inspect cubes written by build-cube: info, verify, quicklook.", no_args_is_help=True)
app.add_typer(cube_app, name="cube")


@app.command("build-cube")
def build_cube_cmd(
    bbox: Annotated[
        str | None,
        typer.Option(
            "--bbox",
            help="Region name, W,S,E,N or a GeoJSON file (default: the region in raw/manifest.json, i.e. what the last fetch or twin wrote).",
        ),
    ] = None,
    dates: Annotated[
        str | None,
        typer.Option(
            "--dates",
            help="2024-06:2024-10, 2024-06-01:2024-06-15 or one day (default: the dates in raw/manifest.json).",
        ),
    ] = None,
    sensor: Annotated[str, typer.Option("--sensor", help="pace, s2 or all.")] = "all",
    months: Annotated[
        str | None,
        typer.Option("--months", help="Season months M-N (e.g. 6-10): only those days of each year of --dates."),
    ] = None,
    flags: Annotated[
        str | None,
        typer.Option(
            "--flags", help="l2_flags names to mask, comma-separated; 'default' = NASA's L3 Rrs mask; 'none'."
        ),
    ] = None,
    resolution: Annotated[
        float | None,
        typer.Option(
            "--resolution",
            callback=float_range("--resolution"),
            help="Grid cell size in metres (default: the region's, PACE 1000, S2 20).",
        ),
    ] = None,
    radius: Annotated[
        float | None,
        typer.Option(
            "--radius",
            callback=float_range("--radius"),
            help="PACE search radius in metres (default 2 × max(cell, 1000 m)).",
        ),
    ] = None,
    no_unc: Annotated[bool, typer.Option("--no-unc", help="Do not write rrs_unc.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address (tcp://host:8786); default a LocalCluster; 'threads' or 'synchronous' for no cluster.",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Threads of the LocalCluster.")] = None,
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="LocalCluster memory limit.")] = "2GB",
    force: Annotated[bool, typer.Option("--force", help="Rebuild every requested date already in the cube.")] = False,
    force_dates: Annotated[
        str | None, typer.Option("--force-dates", help="Rebuild only these dates (same forms as --dates).")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Re-hash and decode every chunk of the requested dates; rebuild damaged slices (a deleted or truncated chunk is found without it).",
        ),
    ] = False,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard",
            help="Serve the LocalCluster's dask dashboard on 127.0.0.1:8787 (off: nothing listens beyond loopback).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be built (slices, grid, sizes); write nothing.")
    ] = False,
) -> None:
    """Build or update cubes/<region>_<sensor>.zarr from the local STAC catalog (incremental)."""
    from spectm.cube.build import build_cube, result_json

    if bbox is None or dates is None:
        from spectm.last_fetch import last_fetch

        m_bbox, m_dates = last_fetch(state.data_dir)
        bbox, dates = bbox or m_bbox, dates or m_dates
        console.print(f"build-cube: --bbox {bbox} --dates {dates} (from raw/manifest.json)")
    sensors = {"all": ("pace", "s2"), "pace": ("pace",), "s2": ("s2",)}.get(sensor)
    if sensors is None:
        raise BadInputError(f"--sensor {sensor!r} is not one of pace, s2, all", "pass --sensor pace, s2 or all")
    common = {
        "data_dir": state.data_dir,
        "sensors": sensors,
        "flags": flags,
        "resolution": resolution,
        "radius_m": radius,
        "with_unc": not no_unc,
        "force": force,
        "force_dates": force_dates,
    }
    if dry_run:
        from spectm.cube.plan import PLAN_COLUMNS, plan_cube, plan_rows

        plans = plan_cube(resolve_aoi(bbox), resolve_dates(dates), **common)
        for plan, row in zip(plans, plan_rows(plans), strict=True):
            print_table(
                f"build-cube --dry-run: {plan.sensor} (nothing written)",
                ["what", "would be"],
                list(zip(PLAN_COLUMNS[1:], row[1:], strict=True)),
            )
            days = [*plan.new, *plan.repair, *plan.rebuild]
            if days:
                console.print(f"  {plan.sensor} slices: {', '.join(str(d) for d in days)}")
        return
    res = build_cube(
        resolve_aoi(bbox),
        resolve_dates(dates),
        **common,
        scheduler=scheduler,
        workers=workers,
        memory_limit=memory_limit,
        repair=repair,
        dashboard=dashboard,
        months=months,
    )
    if as_json:
        console.print_json(json.dumps(result_json(res), default=str))
    else:
        res.print_details()
    if any(r.items_failed for r in res.sensors.values()):
        raise StageError(
            f"{sum(len(r.items_failed) for r in res.sensors.values())} item(s) could not be read (listed above)",
            "re-fetch them with 'spectm fetch --force'; the cube holds every other item",
        )


@cube_app.command("info")
def info_cmd(
    target: Annotated[str, typer.Argument(help="A .zarr path or a region name (looks in <data-dir>/cubes).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dimensions, dates, coverage per date and size of a cube."""
    from spectm.cube.inspect import cube_info, resolve_cube_path

    for p in resolve_cube_path(target, state.data_dir):
        info = cube_info(p)
        if as_json:
            console.print_json(json.dumps(info.as_dict()))
            continue
        dims = ", ".join(f"{k}={v}" for k, v in info.dims.items())
        console.print(f"{p}  sensor={info.sensor}  {dims}  crs={info.crs}  size={info.size_bytes / 1e6:.2f} MB")
        print_table(
            f"{p.name}: time slices",
            ["date", "time UTC", "complete", "coverage", "sources"],
            [(d, t, "yes" if c else "NO", f"{cov:.1%}", n) for d, t, c, cov, n in info.rows],
        )


@cube_app.command("verify")
def verify_cmd(target: Annotated[str, typer.Argument(help="A .zarr path or a region name.")]) -> None:
    """Check a cube (attributes, CRS, time order, complete slices, provenance); exit 1 on problems."""
    from spectm.cube.inspect import resolve_cube_path, verify_cube

    bad = 0
    for p in resolve_cube_path(target, state.data_dir):
        problems = verify_cube(p)
        if problems:
            bad += len(problems)
            console.print(f"{p}: {len(problems)} problem(s)")
            for msg in problems:
                console.print(f"  - {msg}")
        else:
            console.print(f"{p}: OK")
    if bad:
        raise StageError(
            f"{bad} problem(s) found",
            "re-run 'spectm build-cube --repair' for the dates listed (it rebuilds incomplete and damaged slices)",
        )


@cube_app.command("quicklook")
def quicklook_cmd(
    target: Annotated[str, typer.Argument(help="A .zarr path.")],
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: the last slice).")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Output PNG (default next to the store).")] = None,
) -> None:
    """Write a quick-look PNG (RGB composite + valid count) of one date."""
    from spectm.cube.inspect import quicklook, resolve_cube_path

    for p in resolve_cube_path(target, state.data_dir):
        out = quicklook(p, date, png)
        console.print(f"wrote {out}")


@cube_app.command("aggregate")
def aggregate_cmd(
    target: Annotated[str, typer.Argument(help="An S2 .zarr path or a region name.")],
    resolution: Annotated[
        float | None,
        typer.Option(
            "--resolution",
            callback=float_range("--resolution"),
            help="Cell size in metres (default: the PACE cube's, else 1000).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output store (default cubes/<region>_s2_<res>m.zarr).")
    ] = None,
) -> None:
    """Block-average the Sentinel-2 cube onto the PACE grid (for fusion); rebuilt in full each run."""
    from spectm.cube.fusion import aggregate_store
    from spectm.cube.inspect import resolve_cube_path

    for p in resolve_cube_path(target, state.data_dir, sensor="s2"):
        r = aggregate_store(p, resolution, out)
        console.print(
            f"wrote {r.path}: {r.slices} slice(s) at {r.resolution:g} m"
            + (f"; {r.skipped_incomplete} incomplete S2 slice(s) left out" if r.skipped_incomplete else "")
        )
