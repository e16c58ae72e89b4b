"""The run directory ``<data-dir>/runs/<id>/``: its one owner (pretrain, regress, evaluate, predict).

Run ids of pipeline stages and completion markers come from :mod:`spectm.provenance`: the id of
a pipeline stage is ``<pipeline>-<stage>-<key>`` (:func:`~spectm.provenance.stage_run_id`), and
a run is complete only when ``complete.json`` exists (:func:`~spectm.provenance.mark_complete`);
a run directory without it is unfinished and is resumed (or restarted) by its stage. This module
finds runs: the latest complete one of a stage, the encoder a stage uses.

Runs started by hand (``spectm train pretrain`` without ``--run-id``) keep time-stamped ids.
"""

from __future__ import annotations

from pathlib import Path

from spectm.errors import DataNotFoundError
from spectm.provenance import COMPLETE, is_complete


def run_path(data_dir: Path, run_id: str) -> Path:
    """Where run ``run_id`` lives."""
    return Path(data_dir) / "runs" / run_id


def latest_complete_run(data_dir: Path, prefix: str) -> Path | None:
    """The most recently completed run whose id starts with ``prefix`` (e.g. ``demo-pretrain-``)."""
    runs = run_path(data_dir, "")
    if not runs.is_dir():
        return None
    done = [d for d in runs.iterdir() if d.is_dir() and d.name.startswith(prefix) and is_complete(d)]
    if not done:
        return None
    return max(done, key=lambda d: (d / COMPLETE).stat().st_mtime)


def resolve_pretrain_run(
    data_dir: Path,
    pipeline_name: str | None,
    named: str | None,
    *,
    setting: str,
    alternative: str,
    require_complete: bool = False,
) -> Path:
    """The encoder a stage uses: the run ``named`` in ``setting`` (a run id under ``runs/`` or a
    directory holding ``model.safetensors``), else the pipeline's latest complete pretrain run.

    ``alternative`` completes the remedy when nothing is found (e.g. drop the spectm-* models).
    """

    if named:
        for cand in (Path(named), run_path(data_dir, named)):
            if (cand / "model.safetensors").exists() and (not require_complete or is_complete(cand)):
                return cand
        what = (
            "a complete pretrain run (model.safetensors + complete.json)"
            if require_complete
            else "a pretrain run with model.safetensors"
        )
        raise DataNotFoundError(
            f"encoder '{named}' is not {what}", f"set {setting} to a run id in <data-dir>/runs or a run directory"
        )
    found = latest_complete_run(data_dir, f"{pipeline_name}-pretrain-") if pipeline_name else None
    if found is None:
        raise DataNotFoundError(
            f"no complete pretrain run '{pipeline_name}-pretrain-*' in {Path(data_dir) / 'runs'}",
            f"run the pretrain stage first, set {setting}, or {alternative}",
        )
    return found
