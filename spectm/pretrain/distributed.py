"""Where the pretraining runs: the device, the process group under ``torchrun``, the DDP wrapper.

One process on CPU or one GPU needs none of this; under ``torchrun`` (``WORLD_SIZE`` > 1) the
trainer joins a process group (gloo on CPU, nccl on CUDA), wraps its model in DDP and
averages what DDP does not average for it. Every function is a no-op for one process, so
the training loop reads the same either way.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

from spectm.errors import BadInputError


def resolve_device(device: str) -> torch.device:
    """``auto``, ``cpu`` or ``cuda`` (this process's ``LOCAL_RANK`` GPU under torchrun)."""
    if device not in ("auto", "cpu", "cuda"):
        raise BadInputError(f"unknown device '{device}'", "use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise BadInputError("--device cuda but no CUDA GPU is visible", "use --device cpu or auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def dist_setup(device: torch.device) -> tuple[int, int]:
    """(rank, world size): joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def wrap_model(model: torch.nn.Module, device: torch.device, world: int, compile_model: bool) -> Any:
    """The module the training step calls: DDP over ``model`` for several processes, compiled
    when asked (the bare ``model`` stays the one to save, export and validate)."""
    fwd: Any = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        fwd = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    if compile_model:
        fwd = torch.compile(fwd, dynamic=True)
    return fwd


def mean_over_ranks(t: torch.Tensor, world: int) -> torch.Tensor:
    """Average ``t`` in place over the processes (unchanged for one process)."""
    if world > 1:
        dist.all_reduce(t)
        t /= world
    return t


def barrier(world: int) -> None:
    """Wait for every process (after rank 0 wrote a file the others may read)."""
    if world > 1:
        dist.barrier()


def shutdown(world: int) -> None:
    """Leave the process group at the end of a run."""
    if world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


__all__ = ["barrier", "dist_setup", "mean_over_ranks", "resolve_device", "shutdown", "wrap_model"]
