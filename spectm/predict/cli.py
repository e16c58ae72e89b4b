"""``spectm predict``: microcystin map cubes and quick-look PNGs from a trained regressor."""

from __future__ import annotations

from typing import Annotated

import typer

from spectm.cli_common import deprecated_alias, float_range, state
from spectm.console import console

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""


@app.command("predict")
def predict_cmd(
    checkpoint: Annotated[
        str, typer.Option("--checkpoint", help="Regress run id or directory, or a regressor directory.")
    ],
    dates: Annotated[
        str, typer.Option("--dates", help="Imagery dates to map, e.g. 2024-08:2024-08 or 2024-08-01:2024-08-15.")
    ],
    region: Annotated[
        str | None, typer.Option("--region", help="Cube region (cubes/<region>_<sensor>.zarr); default: the only one.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Output name: maps/<name>.zarr and maps/<name>/*.png (default: the region)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="In a regress run: which model's regressor (e.g. spectm-finetune).")
    ] = None,
    horizon: Annotated[str | None, typer.Option("--horizon", help="current or ahead (default: current).")] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Feature store whose join settings pick history steps (default: the one the regressor was trained on).",
        ),
    ] = None,
    min_valid: Annotated[
        float,
        typer.Option(
            "--min-valid",
            callback=float_range("--min-valid", low_inclusive=True, high=1.0),
            help="Share of a tile's water cells that must be valid.",
        ),
    ] = 0.25,
    overlap: Annotated[
        int | None,
        typer.Option("--overlap", help="Cells shared by neighbouring tiles, blended (default: half a chip; 0: none)."),
    ] = None,
    no_png: Annotated[bool, typer.Option("--no-png", help="Skip the quick-look PNGs.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace maps made from another regressor, cube or settings.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", hidden=True, help="Deprecated spelling of --force.")
    ] = False,
) -> None:
    """Predict microcystin for every cube date in --dates: a map cube (Zarr) and quick-look PNGs."""
    from spectm.predict import predict_maps

    force = force or deprecated_alias(overwrite, "--overwrite", "--force")

    res = predict_maps(
        checkpoint,
        dates,
        data_dir=state.data_dir,
        region=region,
        name=name,
        model=model,
        horizon=horizon,
        features=features,
        min_valid=min_valid,
        overlap=overlap,
        quicklooks=not no_png,
        force=force,
    )
    res.print_details()
    console.print(f"{res.status}: {res.summary} ({res.seconds:.1f} s)")
    console.print(f"map cube: {res.path}")
    if res.pngs:
        console.print(f"quick-looks: {res.png_dir}/ ({len(res.pngs)} PNGs)")
    if res.cogs:
        console.print(f"GeoTIFFs (COG, µg/L) for GIS: {res.png_dir}/ ({len(res.cogs)} .tif)")
