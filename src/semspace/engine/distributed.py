"""Environment-driven distributed set-up; a no-op with one process (STYLE D.16).

``torchrun --nproc_per_node N -m semspace train ...`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``;
we pick gloo on CPU and nccl on CUDA. Only the primary rank logs and writes files.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from semspace.losses.distributed import wait_released
from semspace.utils.device import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0  # global rank
    local_rank: int = 0  # rank on this machine (selects the GPU)
    world_size: int = 1  # number of processes
    device: torch.device = torch.device("cpu")  # this process's device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def primary(self) -> bool:
        return self.rank == 0


def world_info_from_env() -> tuple[int, int, int]:
    """(local_rank, rank, world_size) from torchrun/SLURM variables; (0, 0, 1) when absent."""
    local_rank = int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", 0)))
    rank = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", 0)))
    world_size = int(os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", 1)))
    return local_rank, rank, world_size


def init_distributed_device(device: str = "auto") -> DistInfo:
    """Initialises the process group when ``WORLD_SIZE > 1`` and returns this process's ``DistInfo``."""
    local_rank, rank, world_size = world_info_from_env()
    dev = resolve_device(device)
    if world_size > 1:
        if dev.type == "cuda":
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        rank, world_size = dist.get_rank(), dist.get_world_size()
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world_size, device=dev)


def is_primary() -> bool:
    """True on rank 0 (or without a process group)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Each value averaged over the ranks (every rank calls it with the same keys): with equal per-rank batches, a
    per-rank batch mean becomes the global batch's, as one process would log it. Unchanged with one process."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1 or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)  # (K,)
    dist.all_reduce(t)
    wait_released(t)  # losses/distributed.py: no Python tensor left in the backend at the end of a run
    return dict(zip(keys, (t / dist.get_world_size()).tolist(), strict=True))


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Ends the run's process group: every rank waits for the others, then closes its connections.

    Leaving the group to interpreter exit lets one rank close its sockets while another is still in a
    collective, which gloo answers with an abort; the entry point that trained calls this once at the end. The pause
    after the barrier lets the backend's threads free the works they finished (the last evaluation's gathers among
    them), which may need the GIL: the group is destroyed when the DDP wrapper goes, holding the GIL while it joins
    those threads (``losses/distributed.py``).
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        time.sleep(0.1)
        dist.destroy_process_group()
