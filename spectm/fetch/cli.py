"""``spectm fetch`` and ``spectm catalog add``: thin CLI over :func:`spectm.fetch.fetch` and
:func:`spectm.fetch.local_files.add_files` — both put granules and scenes into ``raw/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import BBoxOpt, DatesOpt, data_dir, float_range, resolve_aoi, resolve_dates, state
from spectm.console import console, print_table

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for raw in values for v in raw.split(",") if v.strip()]
    return out or None


@app.command("fetch")
def fetch_cmd(
    bbox: BBoxOpt,
    dates: DatesOpt,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            help="Source name from catalogs/sources (repeat or comma-separate) [default: pace_oci_l2_aop, s2_earth_search].",
        ),
    ] = None,
    stac_url: Annotated[
        str | None, typer.Option("--stac-url", help="STAC API URL for the S2 sources (default: the source's).")
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option("--collection", help="STAC collection (default: the source's, e.g. sentinel-2-c1-l2a)."),
    ] = None,
    tiles: Annotated[
        str | None, typer.Option("--tiles", help="MGRS tiles to keep, e.g. 17TKG,17TLG [default: the region's].")
    ] = None,
    max_cloud_cover: Annotated[
        float | None,
        typer.Option(
            "--max-cloud-cover",
            callback=float_range("--max-cloud-cover", low_inclusive=True, high=100.0),
            help="Drop S2 scenes with more cloud (%).",
        ),
    ] = None,
    threads: Annotated[int, typer.Option("--threads", help="Parallel transfers.")] = 4,
    clip: Annotated[
        bool, typer.Option("--clip/--no-clip", help="Clip S2 COGs to the region with windowed reads.")
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Search and print counts and bytes; download nothing.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Download again even when a complete file exists.")] = False,
    continue_on_error: Annotated[
        bool,
        typer.Option("--continue-on-error", help="Exit 0 even when some files failed (they stay in the manifest)."),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", callback=float_range("--timeout"), help="Per-request read timeout in seconds.")
    ] = 60.0,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries per file on timeouts, resets, short bodies and 5xx.")
    ] = 5,
    max_items: Annotated[
        int | None, typer.Option("--max-items", help="At most this many search results per source.")
    ] = None,
) -> None:
    """Find PACE OCI and Sentinel-2 data for a region and dates, download it, verify it, record it.

    Writes <data-dir>/raw/pace/, raw/s2/, the local STAC catalog raw/catalog/ and raw/manifest.json.
    Exits 1 when any file failed (unless --continue-on-error), 2 on bad input.
    """
    from spectm.fetch.api import fetch

    aoi = resolve_aoi(bbox)
    dr = resolve_dates(dates)
    res = fetch(
        aoi,
        dr,
        data_dir=data_dir(),
        sources=_split(source),
        stac_url=stac_url,
        collection=collection,
        tiles=_split([tiles] if tiles else None),
        max_cloud_cover=max_cloud_cover,
        threads=threads,
        clip=clip,
        dry_run=dry_run,
        force=force,
        timeout=timeout,
        retries=retries,
        max_items=max_items,
        raise_on_failure=False,  # the tables first; then the exit code --continue-on-error asks for
    )
    res.print_details()
    if not continue_on_error:
        res.raise_for_failures()


catalog_app = typer.Typer(
    help="The local STAC catalog raw/catalog: add files downloaded by hand.", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("add")
def add_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="PACE OCI L2 .nc granules and Sentinel-2 scene folders (COGs + the scene's STAC item JSON)."
        ),
    ],
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Hard-link the files into raw/ instead of copying them (saves disk; the link shares the original file).",
        ),
    ] = False,
) -> None:
    """Register files downloaded by hand so build-cube uses them (docs/fetch.md, "Files you downloaded yourself")."""
    from spectm.fetch.local_files import add_files

    added = add_files(files, data_dir=state.data_dir, link=link)
    print_table(
        "catalog add",
        ["file", "sensor", "item", "collection", "day", "status"],
        [
            (
                str(a.source_path),
                a.kind,
                a.item.id,
                a.item.collection_id,
                a.day,
                "replaced" if a.replaced else "added",
            )
            for a in added
        ],
    )
    console.print(
        f"{len(added)} item(s) in {state.data_dir / 'raw' / 'catalog'}; next: spectm build-cube --bbox REGION "
        "--dates RANGE"
    )
