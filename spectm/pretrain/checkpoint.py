"""Checkpoints that load without arbitrary pickle.

- ``checkpoints/last.pt`` (and ``best.pt``): the full training state — model, optimizer,
  scheduler, RNG states, data-loader position, early-stopping state — as plain dicts of
  tensors and numbers, written with ``torch.save`` and read back with
  ``torch.load(weights_only=True)`` (no code runs on load). Written to a temporary file
  and renamed, so a kill mid-write never leaves a torn checkpoint.
- ``model.safetensors``: the weights alone plus normalisation statistics, with the model
  config as string metadata: the portable artefact for fine-tuning and inference.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from spectm.errors import DataNotFoundError, SchemaError
from spectm.provenance import atomic_write


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may touch, in weights_only-loadable form."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomic ``torch.save``: temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a training checkpoint with ``weights_only=True``."""
    if not path.exists():
        raise DataNotFoundError(f"no checkpoint at {path}", "resume a run that saved at least one checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupted or foreign file
        raise SchemaError(
            f"{path} is not a spectm checkpoint: {exc}", "delete it and resume from an earlier one"
        ) from None


def export_safetensors(
    path: Path, model_state: dict[str, torch.Tensor], extra: dict[str, torch.Tensor], metadata: dict[str, Any]
) -> None:
    """Weights + ``extra`` tensors (prefixed ``stats.``) + JSON-encoded metadata."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model_state.items()}
    tensors.update({f"stats.{k}": v.detach().cpu().contiguous() for k, v in extra.items()})
    meta = {k: json.dumps(v) for k, v in metadata.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, Any]]:
    """(model state, stats, metadata) from :func:`export_safetensors`' file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:  # one open: the tensors and their metadata
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a handle, not a dict)
        meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
    model = {k: v for k, v in tensors.items() if not k.startswith("stats.")}
    stats = {k[6:]: v for k, v in tensors.items() if k.startswith("stats.")}
    return model, stats, meta
