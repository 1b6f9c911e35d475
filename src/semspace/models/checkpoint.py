"""Self-describing, atomic checkpoints (STYLE B.10-B.11).

A checkpoint is a dict ``{"format", "semspace_version", "task", "task_cfg", "domains", "preprocess_cfg",
"state_dict", "step", "train_cfg", ...}``; a model is rebuilt from ``task_cfg`` alone (``tasks.load_task``), after
``clean_state_dict`` strips ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes. ``domains`` holds the
task's domain records (``DomainSpec.to_dict()``); ``load_task`` checks that the rebuilt task has the same ones.
Writes go to a temporary file that is renamed over the target, so a kill never leaves a half-written checkpoint.

Formats, and how older ones open (numbered migrations, applied in order by ``load_checkpoint``):

* 1 (semspace 0.1.0): no ``domains``. ``m1_to_2`` marks the records as unknown (``domains = None``); the task
  rebuilt from ``task_cfg`` describes its domains, so a 0.1.0 run keeps working unchanged;
* 2: ``domains`` present.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semspace.errors import CheckpointError
from semspace.utils.io import atomic_write
from semspace.version import __version__

CKPT_FORMAT = 2  # bump when the layout of the dict changes, and add the migration from the previous format


def m1_to_2(ckpt: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (0.1.0) -> 2: the domain records were not stored; ``load_task`` takes the rebuilt task's."""
    return {**ckpt, "format": 2, "domains": None}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: m1_to_2}  # format N -> N + 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Writes ``payload`` (plus format and version) atomically to ``path``."""
    data = {"format": CKPT_FORMAT, "semspace_version": __version__, **payload}
    with atomic_write(path) as tmp:
        torch.save(data, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Reads a semspace checkpoint; a missing, corrupt or foreign file raises ``CheckpointError``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"checkpoint {p} is corrupt or truncated ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(f"{p} is not a semspace checkpoint (expected a dict with 'format' and 'state_dict')")
    if ckpt["format"] > CKPT_FORMAT:
        raise CheckpointError(
            f"checkpoint {p} has format {ckpt['format']} from semspace {ckpt.get('semspace_version')}; "
            f"this semspace ({__version__}) reads format <= {CKPT_FORMAT}: upgrade semspace"
        )
    while ckpt["format"] < CKPT_FORMAT:
        ckpt = MIGRATIONS[int(ckpt["format"])](ckpt)
    return ckpt


def unwrap_model(model: nn.Module) -> nn.Module:
    """Removes DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def clean_state_dict(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Strips ``module.`` / ``_orig_mod.`` prefixes left by DDP and torch.compile."""
    out = {}
    for k, v in state_dict.items():
        for prefix in ("module.", "_orig_mod."):
            while k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out
