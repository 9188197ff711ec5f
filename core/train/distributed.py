"""Several processes, one run: DistributedDataParallel set up from torchrun's environment.

`torchrun --nproc_per_node N main.py train CONFIG` (or `python -m torch.distributed.run ...`) sets RANK,
WORLD_SIZE and LOCAL_RANK; each process then trains on its share of the data. NCCL on GPUs, gloo on CPU.
Only rank 0 writes the run folder.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from core.devices import select_device


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_preference: str | None = None) -> tuple[DistContext, torch.device]:
    """Join the process group when launched by torchrun; the context and this process's device."""
    if not launched_by_torchrun():
        return DistContext(), select_device(None if device_preference in (None, "", "auto") else device_preference)
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    want_cpu = device_preference == "cpu" or not torch.cuda.is_available()
    if want_cpu:
        device = torch.device("cpu")
        backend = "gloo"
    else:
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
        backend = "nccl"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(rank=rank, world_size=world, local_rank=local), device


def teardown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def any_flags(ctx: DistContext, flags: list[bool], device: torch.device) -> list[bool]:
    """Element-wise OR of boolean flags across all processes (every rank must call it)."""
    if not ctx.enabled:
        return flags
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0.5) for v in t.tolist()]


def broadcast_object(ctx: DistContext, obj: Any) -> Any:
    """Rank 0's object on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module


def wrap(module: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    if not ctx.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    ids = [device.index] if device.type == "cuda" else None
    # No re-broadcast of buffers from rank 0 at every forward (GPEN sets the same).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # broadcast_buffers is deprecated in newer torch
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)
