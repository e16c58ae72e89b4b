"""``spectm evaluate ...``: SpecTM's evaluation protocol and its report (thin: parse, call, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spectm.cli_common import config_option, state
from spectm.config import load_pipeline
from spectm.console import console, print_table
from spectm.errors import BadInputError
from spectm.runs import run_path

app = typer.Typer()
"""This stage's commands; :mod:`spectm.cli` mounts it (without a name) on the root ``spectm`` app."""

evaluate_app = typer.Typer(
    help="SpecTM's evaluation: main table, ablation, label efficiency (docs/evaluate.md).", no_args_is_help=True
)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command("run")
def run_cmd(
    config: Annotated[Path, config_option("Pipeline YAML (its evaluate:, regress:, pretrain: sections).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the fits and the run id; fit nothing.")] = False,
    cv: Annotated[
        str | None,
        typer.Option(
            "--cv",
            help="seasons: leave-one-season-out (every fit once per held-out "
            "season); none: the store's splits (default: evaluate.cv).",
        ),
    ] = None,
) -> None:
    """Run the protocol: fit every model × horizon × seed × label fraction × variant, then write the report.

    Writes runs/<pipeline>-evaluate-<key>/ (predictions.parquet, report.md, tables/, figures/); a complete
    run is skipped, an interrupted one resumes from its stored parts.
    """
    from spectm.evaluate.protocol import describe
    from spectm.evaluate.run import evaluate_plan, evaluate_run

    pipeline = load_pipeline(config)
    if cv is not None:
        if cv not in ("seasons", "none"):
            raise BadInputError(f"--cv {cv!r} is not seasons or none", "pass --cv seasons or --cv none")
        pipeline = pipeline.model_copy(update={"evaluate": pipeline.evaluate.model_copy(update={"cv": cv})})
    if dry_run:
        run_id, combos, encoder, vruns = evaluate_plan(pipeline, state.data_dir)
        done = run_path(state.data_dir, run_id) / "parts"
        d = describe(combos)
        rows = [(e, m, n) for e, by in d["by_experiment"].items() for m, n in by.items()]
        print_table(
            f"Evaluation {run_id}: {d['total']} fits "
            f"({sum(1 for c in combos if (done / f'{c.key}.parquet').exists())} already stored)",
            ["experiment", "model", "fits"],
            rows,
        )
        console.print(
            f"encoder: {encoder or '—'}; ablation variants: "
            + (", ".join(f"{k} → {v}" for k, v in vruns.items()) or "—")
        )
        return
    res = evaluate_run(pipeline, data_dir=state.data_dir)
    if res.status == "skipped":
        console.print(
            f"{res.run_dir.name} is complete (skipped); rebuild its report with `spectm evaluate report {res.run_dir}`"
        )
        return
    res.print_details()
    console.print(
        f"{res.fitted} fits made, {res.reused} reused, {res.seconds:.0f} s; report: {res.run_dir / 'report.md'}"
    )


@evaluate_app.command("report")
def report_cmd(
    run_dir: Annotated[
        Path,
        typer.Argument(help="An evaluate run directory (holds predictions.parquet).", exists=True, file_okay=False),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write report.md, tables/, figures/ here instead of RUN_DIR.")
    ] = None,
    split: Annotated[str | None, typer.Option("--split", help="test or val (default: the run's setting).")] = None,
    bootstrap: Annotated[
        int | None, typer.Option("--bootstrap", min=0, help="Bootstrap resamples (default: the run's).")
    ] = None,
) -> None:
    """Rebuild every table and figure of an evaluation from its stored predictions only."""
    from dataclasses import replace

    from spectm.evaluate.report import build_report, load_settings
    from spectm.evaluate.run import print_main

    settings = load_settings(run_dir, None)
    if split is not None:
        if split not in ("test", "val"):
            raise BadInputError(f"--split {split!r} is not test or val", "pass --split test or --split val")
        settings = replace(settings, split=split)
    if bootstrap is not None:
        settings = replace(settings, n_boot=bootstrap)
    rep = build_report(run_dir, settings, out)
    print_main(rep)
    console.print(
        f"{rep.rows} prediction rows → {rep.run_dir / 'report.md'} "
        f"({len(rep.figures)} figures, {len(rep.tables)} tables)"
    )
