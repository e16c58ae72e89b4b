"""``spectm catalog add FILE...``: register hand-downloaded granules and scenes (thin CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli import app
from spectm.cli_common import state
from spectm.console import console, print_table

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
