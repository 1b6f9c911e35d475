"""Cross-rank helpers for losses and training statistics (STYLE C.13); each is a no-op with one process.

``all_gather_with_grad`` keeps the gradient of every rank's slice (open_clip's ``gather_features`` with
``gather_with_grad=True``), so negatives from other ranks train this rank's encoders too. A loss over the whole
batch (the negatives of a softmax, the pairs of a kernel or similarity matrix) then equals, averaged over the
ranks, the loss of one process with the global batch: DDP averages the gradients and the gather's backward sums
every rank's gradient of each slice back to its owner.

The helpers that issue a collective on tensors made here (not ``all_gather_with_grad``: autograd keeps those) return
once the backend has let go of them (``wait_released``): a gloo worker thread that drops the last reference of a
Python-owned tensor needs the GIL, and a process group destroyed in that instant (at the end of a run, while the
main thread holds the GIL) deadlocks in torch (seen in 2 of 30 runs of ``tests/engine/test_ddp_tasks.py``).
"""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch.distributed import nn as dist_nn


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(B, D) on each rank -> (world_size * B, D), differentiable; identity without a process group."""
    if world_size() == 1:
        return x
    return torch.cat(dist_nn.all_gather(x), dim=0)  # (W*B, D)


def all_gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) on each rank -> (world_size * B, ...) without gradient (labels); identity without a process group."""
    if world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world_size())]
    src = x.detach().clone()  # its own tensor: only the backend may hold it besides this function
    dist.all_gather(parts, src)
    wait_released(src, *parts)
    return torch.cat(parts, dim=0)  # (W*B, ...)


@torch.no_grad()
def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """The sum of ``x`` over the ranks (a new tensor, no gradient); a copy of ``x`` without a process group."""
    out = x.detach().clone()
    if world_size() > 1:
        dist.all_reduce(out)
        wait_released(out)
    return out


def wait_released(*tensors: torch.Tensor, timeout: float = 2.0) -> None:
    """Returns once no one but the caller holds ``tensors`` (gloo has freed the finished collective's work), sleeping,
    so without the GIL, meanwhile; gives up after ``timeout`` seconds (another holder: nothing to wait for). Other
    backends return at once (nccl frees its works from its own watchdog thread, asynchronously)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_backend() != "gloo":
        return
    end = time.monotonic() + timeout
    while any(t._use_count() > 1 for t in tensors) and time.monotonic() < end:  # type: ignore[attr-defined]
        time.sleep(0.0005)
