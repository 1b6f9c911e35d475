"""Cross-rank feature gathering for contrastive losses (STYLE C.13); a no-op with one process.

``all_gather_with_grad`` keeps the gradient of every rank's slice (open_clip's ``gather_features`` with
``gather_with_grad=True``), so negatives from other ranks train this rank's encoders too.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.distributed import nn as dist_nn


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """(B, D) on each rank -> (world_size * B, D), differentiable; identity without a process group."""
    if world_size() == 1:
        return x
    return torch.cat(dist_nn.all_gather(x), dim=0)  # (W*B, D)


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
