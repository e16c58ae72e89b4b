"""``spectm train regress``: microcystin regression and baselines (thin: parse, load config, call the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import config_option, state
from spectm.config import load_pipeline
from spectm.console import console

app = typer.Typer()
"""``regress`` is a ``spectm train`` subcommand: :mod:`spectm.cli` mounts this app on the ``train`` group."""


@app.command("regress")
def regress_cmd(
    config: Annotated[Path, config_option("Pipeline YAML with a 'regress:' section.")],
    encoder: Annotated[
        str | None, typer.Option("--encoder", help="Pretrain run id or directory (overrides regress.encoder).")
    ] = None,
    features: Annotated[
        str | None, typer.Option("--features", help="Feature store name (overrides regress.features).")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of runs/<id>/ (default: <pipeline>-regress-<key>).")
    ] = None,
) -> None:
    """Fit the spectm heads (frozen, fine-tuned) and the baselines for both horizons; writes runs/<id>/.

    Skipped when the run is complete; an interrupted run continues with the fits not yet done.
    """
    from spectm.regress.run import regress_run

    pipeline = load_pipeline(config)
    cfg = pipeline.regress
    upd = {k: v for k, v in (("encoder", encoder), ("features", features)) if v is not None}
    if upd:
        cfg = cfg.model_validate({**cfg.model_dump(), **upd})
    res = regress_run(cfg, data_dir=state.data_dir, pipeline_name=pipeline.name, run_id=run_id)
    res.print_details()
    if res.notes:
        console.print(f"note: {res.notes_line()}")
    console.print(f"run dir: {res.run_dir}  (metrics.md, predictions.parquet)")
