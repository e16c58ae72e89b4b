"""``spectm train ...``: pretraining commands (thin: parse, load config, call the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import config_option, deprecated_alias, state
from spectm.config import load_pipeline
from spectm.console import console, print_table
from spectm.errors import BadInputError
from spectm.pipeline import where_results_are

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

train_app = typer.Typer(
    help="Pretrain the spectral MAE and fit the microcystin regressors. Without a subcommand: "
    "join (if needed), pretrain and regress with defaults sized for this machine.",
    invoke_without_command=True,
)
app.add_typer(train_app, name="train")


@train_app.callback()
def train_default(
    ctx: typer.Context,
    bbox: Annotated[str | None, typer.Option("--bbox", help="Region (default: the one in raw/manifest.json).")] = None,
    dates: Annotated[str | None, typer.Option("--dates", help="Dates (default: those in raw/manifest.json).")] = None,
    device: Annotated[
        str, typer.Option("--device", help="auto (GPU preset when CUDA is available), cpu or cuda.")
    ] = "auto",
) -> None:
    """Without a subcommand: join → pretrain → regress with the cpu or gpu preset (docs/model.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from spectm.pretrain.train_all import machine_preset, train_all

    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"--device {device!r} is not one of auto, cpu, cuda", "pass --device auto, cpu or cuda")
    preset = machine_preset(device)
    console.print(f"spectm train: {preset} preset (docs/model.md); runs go to {state.data_dir / 'runs'}")
    _, results = train_all(state.data_dir, region=bbox, dates=dates, device=device)
    shown = {p for _, p in where_results_are(results)}
    for r in results:
        if r.stage == "pretrain":
            for o in r.outputs:
                if o not in shown:
                    console.print(f"pretraining run: {o}", highlight=False)


@train_app.command("pretrain")
def pretrain_cmd(
    config: Annotated[Path, config_option("Pipeline YAML with a 'pretrain:' section.")],
    chips: Annotated[
        Path | None,
        typer.Option("--chips", help="Chips store (default: features/<pretrain.features>/chips.zarr in the data dir)."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of runs/<id>/ (default: timestamp-pipeline).")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue a run (id or directory) from its last checkpoint.")
    ] = None,
) -> None:
    """Pretrain the masked autoencoder on a chips store; writes runs/<id>/ (config, checkpoints, metrics, report).

    For several GPUs or processes launch through torchrun, e.g.
    ``torchrun --nproc_per_node 4 -m spectm train pretrain --config ... --run-id r1``.
    """
    from spectm.pretrain.run import pretrain_run

    pipeline = load_pipeline(config)
    res = pretrain_run(
        pipeline.pretrain,
        data_dir=state.data_dir,
        chips=chips,
        run_id=run_id,
        device=device,
        resume=resume,
        pipeline=pipeline,
    )
    res.print_details()


@train_app.command("synth-chips")
def synth_chips_cmd(
    out: Annotated[
        Path, typer.Argument(help="Output chips store (.zarr); e.g. <data-dir>/features/synthetic/chips.zarr.")
    ],
    n_chips: Annotated[int, typer.Option("--n-chips", min=4, help="Number of chips.")] = 256,
    n_times: Annotated[int, typer.Option("--times", min=1, help="Time steps per chip (8 days apart).")] = 1,
    size: Annotated[int, typer.Option("--size", min=1, help="Chip side in pixels.")] = 8,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing store.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", hidden=True, help="Deprecated spelling of --force.")
    ] = False,
) -> None:
    """Write synthetic PACE-like chips (a bio-optical model; see docs/model.md) in the chips-store format."""
    import numpy as np

    from spectm.pretrain.synthetic import make_synthetic_chips, write_chips_store

    if out.exists() and not (force or deprecated_alias(overwrite, "--overwrite", "--force")):
        raise BadInputError(f"{out} already exists", "pass --force to replace it, or choose another path")
    ds = make_synthetic_chips(n_chips, n_times, size, seed=seed)
    write_chips_store(ds, out)
    print_table(
        "Synthetic chips",
        ["what", "value"],
        [
            ("store", str(out)),
            ("chips", n_chips),
            ("shape T×C×H×W", f"{n_times}×{ds.sizes['band']}×{size}×{size}"),
            (
                "splits",
                ", ".join(
                    f"{k} {v}"
                    for k, v in zip(
                        *np.unique([str(s) for s in ds["split"].values.tolist()], return_counts=True), strict=True
                    )
                ),
            ),
        ],
    )
