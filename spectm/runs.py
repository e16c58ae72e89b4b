"""Run directories shared by the model stages (pretrain, regress, evaluate, predict).

``spectm run`` must skip work whose output is complete and resume after a failure where it
stopped. Stages that write ``runs/<id>/`` get that property from two rules kept here:

* the run id of a *pipeline* stage is deterministic: ``<pipeline>-<stage>-<key>``, where the key
  hashes the stage's resolved configuration and the fingerprints of its inputs — change either
  and a new run is made, keep both and the same run is found again;
* a run is complete only when ``complete.json`` exists; it is written last (atomically), so a
  run directory without it is unfinished and is resumed (or restarted) by the stage.

Runs started by hand (``spectm train pretrain`` without ``--run-id``) keep time-stamped ids.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

COMPLETE = "complete.json"


def config_key(payload: Any, length: int = 10) -> str:
    """Stable short hash of a JSON-able payload (sorted keys; paths and dates as strings)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def stage_run_id(pipeline_name: str, stage: str, payload: Any) -> str:
    """Deterministic run id of a pipeline stage: same configuration + inputs → same id."""
    return f"{pipeline_name}-{stage}-{config_key(payload)}"


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file, or of a directory's small metadata files (``*.json``) and names.

    Directories (Zarr stores, run directories) are fingerprinted by their JSON documents — the
    stores' metadata and the stages' manifests, which change whenever their content does — not
    by every chunk.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    if not path.exists():
        return "missing"
    for p in sorted(path.rglob("*.json")):
        h.update(str(p.relative_to(path)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / COMPLETE).exists()


def read_complete(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / COMPLETE).read_text(encoding="utf-8"))


def mark_complete(run_dir: Path, summary: dict[str, Any]) -> None:
    """Write ``complete.json`` last and atomically: its presence means every output is in place."""
    run_dir = Path(run_dir)
    tmp = run_dir / (COMPLETE + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, run_dir / COMPLETE)


def latest_complete_run(data_dir: Path, prefix: str) -> Path | None:
    """The most recently completed run whose id starts with ``prefix`` (e.g. ``demo-pretrain-``)."""
    runs = Path(data_dir) / "runs"
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
    from spectm.errors import DataNotFoundError

    if named:
        for cand in (Path(named), Path(data_dir) / "runs" / named):
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
