"""Parameter groups, optimizers and schedulers from a ``TrainCfg``.

No weight decay on norms and biases (1-D parameters); modules a task marks as backbone get
``backbone_lr_mult`` (TIRG trains the pretrained CNN at 0.1x). Schedules are ``LambdaLR`` so their state
resumes exactly; an optimizer group that steps every N trainer steps (``Task.step_every``) reads the schedule
at trainer-step time (``create_scheduler(..., every=N)``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from semspace.config import TrainCfg
from semspace.errors import ConfigError
from semspace.registry import UnknownNameError
from semspace.tasks.base import param_groups as param_groups  # lives with the Task contract

OPTIMIZERS = ("adamw", "adam", "sgd")  # train.optimizer (any case)
SCHEDULERS = ("cosine", "step", "constant", "poly")  # train.scheduler


def create_optimizer(groups: list[dict[str, Any]], cfg: TrainCfg, *, fused: bool = False) -> torch.optim.Optimizer:
    """Builds the optimizer named by ``cfg.optimizer``; each group's lr is ``cfg.lr * lr_mult``.

    ``fused``: torch's fused step (one kernel over all parameters; ``engine/fast_paths.py``, ``resolve_fused``);
    otherwise torch's default (a loop over the parameters on CPU, ``foreach`` on CUDA). Both compute the same update;
    they differ in float32 rounding only (docs/engine.md "Speed" states the tolerance).
    """
    if not groups:
        raise ConfigError("the task has no trainable parameters for this optimizer group")
    for g in groups:
        g["lr"] = cfg.lr * g.get("lr_mult", 1.0)
    name = cfg.optimizer.lower()
    how: dict[str, Any] = {"fused": True} if fused else {}
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, **how)
    if name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, **how)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, **how)
    raise UnknownNameError("optimizer", cfg.optimizer, OPTIMIZERS, "train.optimizer")


def lr_factor(step: int, cfg: TrainCfg) -> float:
    """The multiplier of the peak lr at ``step`` (linear warm-up, then the schedule).

    ``cosine``: half a cosine from 1 to 0 over the steps after the warm-up; ``step``: ``step_gamma`` every
    ``step_every`` steps; ``poly``: ``(1 - t)^poly_power``, t the fraction of the steps after the warm-up done
    (EGSC-IT's TF code decays with power 0.9 to 0); ``constant``: 1.
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.scheduler == "constant":
        return 1.0
    if cfg.scheduler == "step":
        return cfg.step_gamma ** (step // cfg.step_every) if cfg.step_every > 0 else 1.0
    if cfg.scheduler == "cosine":
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        t = min(1.0, (step - cfg.warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if cfg.scheduler == "poly":  # EGSC-IT's code: lr (1 - step / total)^power after the warm-up
        span = max(1, cfg.max_steps - cfg.warmup_steps)
        t = min(1.0, (step - cfg.warmup_steps) / span)
        return (1.0 - t) ** cfg.poly_power
    raise UnknownNameError("scheduler", cfg.scheduler, SCHEDULERS, "train.scheduler")


def create_scheduler(opt: torch.optim.Optimizer, cfg: TrainCfg, every: int = 1) -> torch.optim.lr_scheduler.LambdaLR:
    """The ``cfg.scheduler`` schedule of ``opt``, stepped once per optimizer step.

    Args:
        opt: the optimizer.
        cfg: ``scheduler``, ``warmup_steps``, ``max_steps``, ``step_every`` and ``step_gamma``.
        every: the optimizer steps once every this many trainer steps (``Task.step_every``); its ``k``-th step
            uses the lr of trainer step ``k * every``, so the schedule still spans ``cfg.max_steps`` trainer steps.
    """
    lr_factor(0, cfg)  # validates the scheduler name up front
    if every < 1:
        raise ConfigError(f"create_scheduler: every={every} must be >= 1")
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step * every, cfg))
