"""What a training run puts in its checkpoints, and how a resume puts it back exactly.

The file format (self-describing, atomic writes, numbered format migrations) is ``models/checkpoint.py``; this
module fills it for a ``Trainer`` run:

* ``model_state``: the self-describing part of ``model.pt`` (inference) and ``last.pt``: the task's name and
  config, domain records, preprocessing, weights, the step, the train and run configs;
* ``resume_state``: what ``last.pt`` adds: optimizer, scheduler and scaler states, EMA weights, RNG states
  (python, numpy, torch, cuda), the position of every data stream (main: ``epoch``, ``consumed``; extra streams:
  ``streams``; ``engine/streams.py``) and the run's clock (``elapsed``);
* ``restore``: loads a ``last.pt`` into a freshly set-up run. Every sampler order is a pure function of
  (seed, epoch), so the resumed run follows the uninterrupted one step for step. A ``last.pt`` of another model
  (another task, or weights of other shapes) is a ``CheckpointError`` naming the config keys that differ; a
  changed config that still fits resumes with a warning listing them;
* ``elapsed_at``: the clock a resumed run continues from.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from semspace.config import TrainCfg, to_dict
from semspace.engine.ema import Ema
from semspace.engine.logging import read_metrics
from semspace.engine.streams import MAIN_STREAM, DataStream
from semspace.errors import CheckpointError
from semspace.models.checkpoint import unwrap_model
from semspace.tasks.base import Task

log = logging.getLogger(__name__)

__all__ = ["elapsed_at", "model_state", "restore", "resume_state"]

_RESUME_KEYS = ("state_dict", "optimizers", "schedulers", "scaler", "step", "epoch")  # a last.pt has them all
_MISSING = "(not set)"  # a config key one of two configs lacks


def model_state(task: Task, *, step: int, train_cfg: TrainCfg, run_cfg: dict[str, Any]) -> dict[str, Any]:
    """The self-describing checkpoint of ``task`` at ``step`` (``model.pt``; ``last.pt`` adds ``resume_state``)."""
    return {
        "task": task.name,
        "task_cfg": task.export_cfg(),
        "domains": [spec.to_dict() for spec in task.domains().values()],
        "preprocess_cfg": (p.to_dict() if (p := task.preprocess_cfg()) else None),
        "state_dict": unwrap_model(task).state_dict(),
        "step": step,
        "train_cfg": to_dict(train_cfg),
        "run_cfg": run_cfg,
    }


def resume_state(
    *,
    optimizers: Mapping[str, Optimizer],
    schedulers: Mapping[str, LRScheduler],
    scaler: torch.amp.GradScaler,
    ema: Ema | None,
    streams: Mapping[str, DataStream],
    elapsed: float,
) -> dict[str, Any]:
    """What ``last.pt`` holds beside ``model_state``: everything else an exact resume needs.

    Args:
        optimizers, schedulers: one per optimizer group.
        scaler: the fp16 loss scaler (disabled otherwise; its state is saved all the same).
        ema: the EMA copy of the task, or None without EMA.
        streams: every data stream (``MAIN_STREAM`` first); their positions are saved.
        elapsed: the run's clock in seconds.
    """
    main = streams[MAIN_STREAM]
    return {
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "scaler": scaler.state_dict(),
        "ema": ema.module.state_dict() if ema is not None else None,
        "epoch": main.epoch,
        "consumed": main.consumed,
        "streams": {k: {"epoch": s.epoch, "consumed": s.consumed} for k, s in streams.items() if k != MAIN_STREAM},
        "rng": _rng_state(),
        "elapsed": elapsed,
    }


def restore(
    ckpt: dict[str, Any],
    path: Path,
    *,
    run_dir: Path,
    run_cfg: dict[str, Any],
    task: Task,
    optimizers: Mapping[str, Optimizer],
    schedulers: Mapping[str, LRScheduler],
    scaler: torch.amp.GradScaler,
    ema: Ema | None,
    streams: Mapping[str, DataStream],
    rng: bool,
) -> int:
    """Loads ``ckpt`` (``path``, a ``last.pt`` of ``run_dir``) into a set-up run in place; returns its step.

    Args:
        ckpt: the loaded checkpoint (``models.checkpoint.load_checkpoint``).
        path: where it came from (for messages).
        run_dir: the run folder (for messages).
        run_cfg: this run's resolved config, compared with the checkpoint's.
        task, optimizers, schedulers, scaler, ema, streams: what ``resume_state`` saved, as built for this run.
        rng: also restore the RNG states (one process: ``last.pt`` holds rank 0's).

    Raises:
        CheckpointError: not a resumable checkpoint, or one of another model (the message names the config keys
            that differ and what to do).
    """
    missing = [k for k in _RESUME_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"{path} is not a resumable checkpoint (no {', '.join(missing)}); remove it to train {run_dir} "
            "from scratch, or use another run folder"
        )
    if ckpt.get("task") != task.name:
        raise _other_model(run_dir, path, ckpt, run_cfg, f"task {ckpt.get('task')!r}, not {task.name!r}")
    try:
        unwrap_model(task).load_state_dict(ckpt["state_dict"])
        for k, opt in optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][k])
    except (RuntimeError, ValueError, KeyError) as exc:
        reason = " ".join(str(exc).split())
        raise _other_model(run_dir, path, ckpt, run_cfg, reason[:160] + ("..." if len(reason) > 160 else "")) from None
    changed = config_diff(ckpt["run_cfg"], run_cfg) if ckpt.get("run_cfg") else []
    if changed:
        log.warning(
            "resuming %s with a changed config: %s (the optimizer and scheduler continue from their saved state)",
            path, describe_diff(changed),
        )  # fmt: skip
    for k, sched in schedulers.items():
        sched.load_state_dict(ckpt["schedulers"][k])
    scaler.load_state_dict(ckpt["scaler"])
    if ema is not None and ckpt.get("ema") is not None:
        ema.module.load_state_dict(ckpt["ema"])
    _restore_positions(ckpt, path, streams)
    if rng:
        _set_rng_state(ckpt["rng"])
    return int(ckpt["step"])


def elapsed_at(ckpt: dict[str, Any], run_dir: Path) -> float:
    """The clock of a checkpoint: its ``elapsed``, else (written before it was stored) the time of the last
    ``metrics.jsonl`` row up to its step, else 0."""
    if isinstance(ckpt.get("elapsed"), int | float):
        return float(ckpt["elapsed"])
    times = [r["time"] for r in read_metrics(run_dir) if isinstance(r.get("step"), int)
             and r["step"] <= ckpt["step"] and isinstance(r.get("time"), int | float)]  # fmt: skip
    return float(max(times, default=0.0))


def _restore_positions(ckpt: dict[str, Any], path: Path, streams: Mapping[str, DataStream]) -> None:
    """Sets every stream's (epoch, consumed); a stream the checkpoint lacks starts at epoch 0 (with a warning)."""
    main = streams[MAIN_STREAM]
    main.epoch, main.consumed = ckpt["epoch"], ckpt["consumed"]
    saved = ckpt.get("streams") or {}
    for name, s in streams.items():
        if name == MAIN_STREAM:
            continue
        if name not in saved:
            log.warning("%s has no position for data stream %r; it starts at epoch 0", path, name)
            continue
        s.epoch, s.consumed = saved[name]["epoch"], saved[name]["consumed"]
    dropped = sorted(set(saved) - set(streams))
    if dropped:
        log.warning("%s: data stream(s) %s are no longer configured; they are dropped", path, dropped)


def _other_model(
    run_dir: Path, path: Path, ckpt: dict[str, Any], run_cfg: dict[str, Any], reason: str
) -> CheckpointError:
    """The error for a ``last.pt`` that holds another model than the one configured."""
    changed = config_diff(ckpt["run_cfg"], run_cfg) if ckpt.get("run_cfg") else []
    what = f"the config differs in {describe_diff(changed)}" if changed else reason
    return CheckpointError(
        f"{run_dir} holds another model's checkpoint ({path.name}, step {ckpt.get('step')}): {what}. "
        f"To start fresh, use another run folder or remove {run_dir} (--no-resume overwrites it); to resume "
        f"it, train with the config it was trained with ({run_dir / 'config.yaml'})"
    )


def config_diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` for every leaf where two resolved configs differ; the model's keys
    (``task``, ``task_args``) first."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=lambda k: (k not in ("task", "task_args"), str(k))):
            out += config_diff(old.get(k, _MISSING), new.get(k, _MISSING), f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        old, new = list(old), list(new)
    return [] if old == new else [(prefix, old, new)]


def describe_diff(changed: list[tuple[str, Any, Any]], limit: int = 4) -> str:
    """``key old -> new, ...`` for the first ``limit`` differences (long values cut)."""

    def short(v: Any) -> str:
        text = repr(v) if v is not _MISSING else v
        return text if len(text) <= 40 else text[:37] + "..."

    parts = [f"{key} {short(a)} -> {short(b)}" for key, a, b in changed[:limit]]
    more = f" (and {len(changed) - limit} more)" if len(changed) > limit else ""
    return ", ".join(parts) + more


def _rng_state() -> dict[str, Any]:
    """Every global RNG's state: python, numpy, torch and (with CUDA) every device's."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
