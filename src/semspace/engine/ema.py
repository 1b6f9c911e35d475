"""Exponential moving average of a task's weights, the ``model.pt`` weights when ``train.ema_decay > 0``.

After every optimizer step, each floating-point tensor of the copy becomes ``decay * ema + (1 - decay) * weight``;
other buffers (counters, integer state) are copied as they are.
"""

from __future__ import annotations

import copy

import torch

from semspace.models.checkpoint import unwrap_model
from semspace.tasks.base import Task

__all__ = ["Ema"]


class Ema:
    """The EMA copy of a task (``module``: in eval mode, never given gradients).

    Args:
        task: the task being trained (a DDP or compiled wrapper is unwrapped).
        decay: the weight of the running average per update, in [0, 1).
    """

    def __init__(self, task: Task, decay: float) -> None:
        self.module = copy.deepcopy(unwrap_model(task)).eval()
        self.decay = decay
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, task: Task) -> None:
        """Moves the copy towards ``task``'s current weights."""
        src = unwrap_model(task).state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(self.decay).add_(src[k].detach(), alpha=1 - self.decay)
            else:
                v.copy_(src[k])
