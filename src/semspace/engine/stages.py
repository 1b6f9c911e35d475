"""Pretrained stages: a submodule of the task initialised from another run's checkpoint, frozen by default.

A multi-stage method trains one part first and reuses it, frozen, in the next run (EGSC-IT trains a feature-mask
auto-encoder, then freezes it inside the translator). The run config says which weights go where::

    init:
      - {checkpoint: runs/mask_ae/model.pt, module: mask_ae, source: net}

``module`` is a dotted attribute path in this run's task, ``source`` the prefix of the weights in the other
checkpoint's ``state_dict`` (default: the same as ``module``). The trainer applies the list before it wraps the
task in DDP, copies the EMA and builds the optimizers, so frozen parameters are never optimised. On resume the
weights come from ``last.pt`` (the source checkpoint may be gone) and only the freeze is applied again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from semspace.config import InitSpec
from semspace.errors import CheckpointError, ConfigError
from semspace.models.checkpoint import clean_state_dict, load_checkpoint
from semspace.tasks.base import Task

log = logging.getLogger(__name__)

__all__ = ["apply_init", "load_stage"]

_SHOW = 6  # keys quoted in an error message


def load_stage(task: Task, spec: InitSpec, where: str = "init") -> nn.Module:
    """Copies the ``spec.source`` weights of ``spec.checkpoint`` into the task's ``spec.module``; returns it.

    Args:
        task: the task being trained.
        spec: which checkpoint, which submodule and which prefix.
        where: the config path of ``spec`` for messages (e.g. ``init[0]``).

    Raises:
        ConfigError: an empty field, or the task has no submodule ``spec.module``.
        CheckpointError: the checkpoint is missing or corrupt, has no weights under ``source`` while the submodule
            has some (a submodule without weights, such as an identity trunk over given features, loads nothing and
            passes), or they do not fit the submodule (missing or unexpected keys, or a shape mismatch; the message
            lists them).
    """
    if not spec.checkpoint:
        raise ConfigError(f"{where}.checkpoint is empty; expected the path of another run's model.pt")
    if not spec.module:
        raise ConfigError(f"{where}.module is empty; expected a dotted attribute path of the task (e.g. mask_ae)")
    module = task.submodule(spec.module)
    source = spec.source or spec.module
    try:
        ckpt = load_checkpoint(spec.checkpoint)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{where} (module {spec.module!r}): {exc}; train that stage first or fix the path"
        ) from None
    state = clean_state_dict(ckpt["state_dict"])
    prefix = source + "."
    weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not weights and not module.state_dict():  # nothing to load on either side (an identity trunk over features)
        log.info("%s: %s has no weights, nor has %s[%r]: nothing to load", where, spec.module, spec.checkpoint, source)
        return module
    if not weights:
        roots = sorted({k.split(".", 1)[0] for k in state})
        raise CheckpointError(
            f"{where}: checkpoint {spec.checkpoint} (task {ckpt.get('task')!r}) has no weights under {source!r}; "
            f"set {where}.source to the submodule's path in that task (its top-level modules: {roots})"
        )
    expected = module.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    shapes = [
        f"{k}: {tuple(weights[k].shape)} in the checkpoint, {tuple(v.shape)} here"
        for k, v in expected.items()
        if k in weights and tuple(weights[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{label} {items[:_SHOW]}{' ...' if len(items) > _SHOW else ''}"
            for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", shapes))
            if items
        ]
        raise CheckpointError(
            f"{where}: {spec.checkpoint}[{source!r}] does not fit module {spec.module!r} of task {task.name!r}: "
            f"{'; '.join(parts)}; build the stage with the same architecture as in that run (its task_cfg)"
        )
    module.load_state_dict(weights, strict=True)
    log.info("%s: loaded %s from %s[%r]", where, spec.module, Path(spec.checkpoint), source)
    return module


def apply_init(task: Task, specs: Sequence[InitSpec], *, load: bool = True) -> None:
    """Applies the run config's ``init`` list: loads each stage (unless ``load`` is False) and freezes it.

    Args:
        task: the task being trained.
        specs: ``RunCfg.init``.
        load: copy the weights; the trainer passes False on resume, where ``last.pt`` holds them.
    """
    for i, spec in enumerate(specs):
        where = f"init[{i}]"
        if load:
            load_stage(task, spec, where)
        elif not spec.module:
            raise ConfigError(f"{where}.module is empty; expected a dotted attribute path of the task (e.g. mask_ae)")
        if spec.freeze:
            task.freeze(spec.module)
