"""A trained run as the retrieval side sees it: its checkpoint, the task rebuilt from it, and its identity.

``load_run(run_dir)`` rebuilds the task from ``run_dir/model.pt`` (``tasks.load_task``: the checkpoint's own
config, domain records checked); ``model_info_for`` is what an index records about the model that filled it
(the sha256 of the checkpoint's bytes is the identity of the weights).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from semspace.errors import CheckpointError, ConfigError
from semspace.index import ModelInfo
from semspace.models.inference_fast import prepare_for_inference
from semspace.tasks import Task, load_task
from semspace.utils.device import resolve_device
from semspace.utils.hashing import file_sha256
from semspace.version import __version__


def checkpoint_path(run_dir: str | os.PathLike[str]) -> Path:
    """``run_dir/model.pt`` (or ``run_dir`` itself when it is a checkpoint file).

    Raises:
        CheckpointError: there is no such checkpoint (the message says how to make one).
    """
    p = Path(run_dir)
    ckpt = p if p.is_file() else p / "model.pt"
    if not ckpt.is_file():
        raise CheckpointError(
            f"no model.pt in {p}; pass the folder of a trained run (semspace train --config CONFIG --run-dir {p})"
        )
    return ckpt


def query_device(device: str | torch.device) -> torch.device:
    """``utils.resolve_device`` for retrieval's users (``auto``: CUDA when ``torch.cuda.is_available()``, else the
    CPU): an absent CUDA device, or a name that is no device, is one ``ConfigError`` line."""
    try:
        return resolve_device(device)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"--device: {exc}") from None


def model_info_for(checkpoint: str | os.PathLike[str], task: Task) -> ModelInfo:
    """The ``ModelInfo`` that identifies ``task`` loaded from ``checkpoint`` (sha256 of its bytes)."""
    dims = {spec.embed_dim for spec in task.domains().values()}
    if len(dims) != 1:
        raise CheckpointError(f"{checkpoint}: task {task.name!r} embeds its domains at widths {sorted(dims)}")
    return ModelInfo(
        checkpoint=str(Path(checkpoint).resolve()),
        checkpoint_sha256=file_sha256(checkpoint),
        task=task.name,
        embed_dim=int(dims.pop()),
        semspace_version=__version__,
    )


def load_run(run_dir: str | os.PathLike[str], device: str | torch.device | None = None) -> tuple[Task, Path]:
    """The task of a trained run (eval mode) on ``device`` (``query_device``: auto, cpu, cuda, cuda:N; None: the
    CPU) and its checkpoint path. The device is checked before the checkpoint is read. The task is for inference
    only: its image encoders take the fast path (``models.inference_fast.prepare_for_inference``).

    Raises:
        CheckpointError: no trained model in ``run_dir``.
        ConfigError: ``device`` is CUDA where there is none, or not a device name.
    """
    dev = query_device("cpu" if device is None else device)
    ckpt = checkpoint_path(run_dir)
    task, _ = load_task(ckpt, dev)
    prepare_for_inference(task)  # only embeds from now on: the image encoders' fast path (models.inference_fast)
    return task.eval(), ckpt
