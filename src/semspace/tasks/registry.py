"""The task registry and the functions that build or reload a task by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from semspace.config import from_dict
from semspace.errors import CheckpointError, ConfigError
from semspace.models.checkpoint import clean_state_dict, load_checkpoint
from semspace.registry import Registry, UnknownNameError
from semspace.tasks.base import Task
from semspace.utils.device import resolve_device

TASKS: Registry = Registry("task", discover=("semspace.tasks",))  # every module of tasks/ may register one


def list_tasks(pattern: str = "*") -> list[str]:
    """Names of the registered tasks."""
    return TASKS.list(pattern)


def create_task(name: str, task_args: dict[str, Any] | None = None, dataset: Any | None = None) -> Task:
    """Builds task ``name`` from ``task_args`` (validated into its Cfg) and resolves data-dependent fields.

    Raises:
        UnknownNameError: ``name``, or a registry name inside ``task_args`` (a composer, a loss, ...), is not
            registered; the error is located at the ``task_args`` key that holds the name
            (``task_args.composer: unknown composer 'tirgg'; did you mean 'tirg'? ...``).
        ConfigError: ``task_args`` does not fit the task's ``Cfg``, or a value is impossible (building the task
            raised a ``ValueError``, ``TypeError`` or ``RuntimeError``: a negative width, ...).
    """
    cls = TASKS.get(name)
    cfg = from_dict(cls.Cfg, task_args or {}, "task_args")
    try:
        cfg = cls.resolve_cfg(cfg, dataset)
        return cls(cfg)
    except UnknownNameError as exc:
        key = None if exc.key else _find_value(task_args or {}, exc.name)
        if key is None:
            raise
        raise exc.at(f"task_args.{key}") from None
    except (ValueError, TypeError, RuntimeError) as exc:  # an impossible value reached torch (a negative width, ...)
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"task {name!r} cannot be built from its task_args ({type(exc).__name__}: {reason[:200]}); check their "
            "values (sizes >= 1, ...)"
        ) from exc


def _find_value(node: Any, value: Any, prefix: str = "") -> str | None:
    """The dotted key of the first string in nested ``node`` equal to ``value`` (None when there is none)."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list | tuple):
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return (prefix or None) if isinstance(node, str) and node == value else None
    for k, v in items:
        found = _find_value(v, value, f"{prefix}.{k}" if prefix else str(k))
        if found is not None:
            return found
    return None


def load_task(path: str | Path, device: str | torch.device = "cpu") -> tuple[Task, dict[str, Any]]:
    """Rebuilds a task from a checkpoint (``model.pt`` or ``last.pt``), loads its weights and moves it to
    ``device`` (a ``torch.device``, or ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"``: ``utils.resolve_device``).

    The checkpoint is read onto the CPU, where the task is built, and the loaded task is then moved to ``device``
    explicitly (one copy of the weights on the device, none left behind); its tensors of the returned ``ckpt``
    (optimizer state in ``last.pt``) stay on the CPU.
    """
    dev = resolve_device(device)
    ckpt = load_checkpoint(path, map_location="cpu")
    try:
        task = create_task(ckpt["task"], ckpt["task_cfg"])
    except KeyError as exc:  # the registry names the tasks it has
        raise CheckpointError(f"{path}: {exc.args[0]}") from None
    check_domains(task, ckpt.get("domains"), path)
    task.load_state_dict(clean_state_dict(ckpt["state_dict"]))
    task.to(dev)
    task.eval()
    return task, ckpt


def check_domains(task: Task, stored: list[dict[str, Any]] | None, path: str | Path) -> None:
    """Raises ``CheckpointError`` when a checkpoint's domain records differ from those of the task rebuilt from
    it (``None``: a format-1 checkpoint without records, accepted)."""
    if stored is None:
        return
    rebuilt = {name: spec.to_dict() for name, spec in task.domains().items()}
    recorded = {str(d.get("name")): d for d in stored}
    if rebuilt != recorded:
        raise CheckpointError(
            f"{path}: the domains recorded in the checkpoint ({sorted(recorded)}) differ from those of task "
            f"{task.name!r} rebuilt from its config ({sorted(rebuilt)}): {recorded} vs {rebuilt}; the file was "
            "edited or written by an incompatible semspace: retrain the run"
        )
