"""``spectm run``: run the stages a pipeline file names, in order.

Each stage is a function ``(pipeline, data_dir, *, force=False) -> StageResult`` (the one
stage contract, :mod:`spectm.contract`) registered in :data:`STAGES` by its module. A stage
decides itself whether its output is complete (every stage is idempotent, with the keys and
markers of :mod:`spectm.provenance`), so re-running a pipeline skips finished work and
resumes after a failure where it stopped.

A stage that refuses to replace output built from other inputs (a feature store
of other parameters, the twin's raw/) replaces it when called with ``force=True``;
``spectm run --force`` passes it to every stage (those that never refuse ignore it),
so the refusal's remedy works from the pipeline command too. Complete work of the same
inputs is still reused.
"""

from __future__ import annotations

import time
from importlib import import_module
from pathlib import Path

from spectm.config import Pipeline
from spectm.console import console, err_console, log, print_table
from spectm.contract import Stage, StageResult
from spectm.errors import ConfigError

# stage name -> "module:function"; resolved lazily so importing spectm stays light.
STAGES: dict[str, str] = {
    "samples": "spectm.samples.stage:run_stage",
    "fetch": "spectm.fetch.stage:run_stage",
    "cube": "spectm.cube.stage:run_stage",
    "twin": "spectm.twin.stage:run_stage",
    "pretrain": "spectm.pretrain.stage:run_stage",
    "join": "spectm.join.stage:run_stage",
    "regress": "spectm.regress.stage:run_stage",
    "evaluate": "spectm.evaluate.stage:run_stage",
    "predict": "spectm.predict.stage:run_stage",
}


def resolve_stage(name: str) -> Stage:
    if name not in STAGES:
        raise ConfigError(
            f"stage '{name}' is not available in this version of spectm (available: {', '.join(STAGES)})",
            "remove it from 'stages:' in the pipeline file",
        )
    mod, fn = STAGES[name].split(":")
    return getattr(import_module(mod), fn)


def run_pipeline(
    pipeline: Pipeline,
    data_dir: Path,
    *,
    pipeline_file: Path | str | None = None,
    force: bool = False,
    rerun: str | None = None,
) -> list[StageResult]:
    """Run every stage of ``pipeline`` in order; raise on the first failure.

    Every stage skips work whose output is complete, so after a failure the same command
    resumes: completed stages report ``skipped`` and the failed one continues where its own
    outputs stopped. The table printed at the end (or at the failure) lists each stage's
    status and time; a failure names the stage and the command that resumes (``rerun``, by
    default ``spectm run <pipeline_file>``).
    """
    from spectm.aoi import parse_bbox

    # absolute from here on: stages write paths into catalogs and manifests, and a path relative
    # to the working directory (`make demo` passes --data-dir spectm-data) would not resolve there
    data_dir = Path(data_dir).resolve()
    parse_bbox(pipeline.region, data_dir)  # fail fast on an unknown region
    fns = [(s, resolve_stage(s)) for s in pipeline.stages]  # ... and on unknown stages
    results: list[StageResult] = []
    for name, fn in fns:
        log.info("stage %s: starting", name)
        t0 = time.perf_counter()
        try:
            res = fn(pipeline, data_dir, force=force)
        except BaseException as exc:
            failed = StageResult(name, "failed", f"{type(exc).__name__}: {exc}"[:200], seconds=time.perf_counter() - t0)
            _print_results(pipeline, [*results, failed], [s for s, _ in fns][len(results) + 1 :])
            again = rerun or (f"spectm run {pipeline_file}" if pipeline_file else "spectm run <pipeline file>") + (
                " --force" if force else ""
            )
            err_console.print(
                f"stage {name} failed after {failed.seconds:.1f} s; fix the cause and run `{again}` "
                f"again: completed stages are skipped and {name} resumes from its own outputs",
                markup=False,
                highlight=False,
            )
            raise
        res.seconds = time.perf_counter() - t0
        res.print_details()
        results.append(res)
        log.info("stage %s: %s in %.1f s", name, res.status, res.seconds)
    _print_results(pipeline, results, [])
    for label, path in where_results_are(results):
        console.print(f"{label}: {path}", highlight=False)
    return results


def _print_results(pipeline: Pipeline, results: list[StageResult], not_run: list[str]) -> None:
    rows = [(r.stage, r.status, f"{r.seconds:.1f}", r.summary) for r in results]
    rows += [(s, "not run", "", "") for s in not_run]
    total = sum(r.seconds for r in results)
    print_table(f"Pipeline {pipeline.name} ({total:.1f} s)", ["stage", "status", "seconds", "summary"], rows)


def where_results_are(results: list[StageResult]) -> list[tuple[str, str]]:
    """(label, path) of what a user opens next: the evaluation report and the maps."""
    out: list[tuple[str, str]] = []
    for r in results:
        paths = [Path(o) for o in r.outputs]
        if r.stage == "evaluate":
            reports = [p for p in paths if p.name == "report.md"] + [p / "report.md" for p in paths if p.is_dir()]
            out += [("evaluation report", str(p)) for p in reports if p.exists()][:1]
        elif r.stage == "predict":
            out += [("microcystin maps", str(p)) for p in paths if p.suffix == ".zarr"]
            out += [("quick-look PNGs", str(p)) for p in paths if p.is_dir() and p.suffix != ".zarr"]
        elif r.stage == "regress":
            out += [("regression metrics", str(p / "metrics.md")) for p in paths if (p / "metrics.md").exists()]
    return out
