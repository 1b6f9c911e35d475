"""THE training loop, shared by every method (STYLE D.14).

The trainer owns autocast, gradient accumulation (with DDP ``no_sync`` on all but the last micro-batch),
clipping, optimizer and scheduler steps (one optimizer per task-declared group, stepped in the declared
order on the same micro-batches), EMA, the non-finite-loss check, callbacks, ``metrics.jsonl`` and atomic
checkpoints. It never branches on the method: a task returns ``{"loss": ...}`` and the trainer does the rest.

Resume: ``last.pt`` holds the task, optimizers, schedulers, scaler, EMA, RNG states, the step and the data
position (epoch, samples consumed). The sampler order is a pure function of (seed, epoch), so a killed and
resumed run follows the uninterrupted run step for step.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from semspace.config import TrainCfg, to_dict
from semspace.data.collate import collate_dicts
from semspace.data.samplers import ShardSampler
from semspace.engine.distributed import DistInfo, barrier, init_distributed_device
from semspace.engine.logging import AverageMeter, MetricsWriter
from semspace.engine.optim import create_optimizer, create_scheduler
from semspace.errors import SemspaceError
from semspace.models.checkpoint import load_checkpoint, save_checkpoint, unwrap_model
from semspace.tasks.base import Task
from semspace.utils.io import atomic_write_text
from semspace.utils.seed import seed_everything

log = logging.getLogger(__name__)

Callback = Callable[["Trainer", int, dict[str, float]], None]


class NonFiniteLossError(SemspaceError):
    """The loss became NaN/inf; the message names the step and the terms."""


class Trainer:
    """Trains a ``Task`` on a dataset of dict items.

    Args:
        task: the method to train (already built with ``create_task``).
        cfg: optimisation and bookkeeping settings.
        run_dir: where ``config.yaml``, ``metrics.jsonl``, ``last.pt`` and ``model.pt`` go.
        dataset: a map-style dataset returning dict items (``semspace.types`` keys).
        evaluate: optional ``fn(task) -> {metric: value}`` run every ``cfg.eval_every`` steps and at the end.
        run_cfg: the full resolved run config, written to ``run_dir/config.yaml`` and into checkpoints.
        progress: show a progress bar (the CLI turns it on).

    Example:
        >>> task = create_task("align", {"domain_a": "blobs2d", "domain_b": "render3d"})
        >>> Trainer(task, TrainCfg(max_steps=100), "runs/x", dataset=ds).fit()
    """

    def __init__(
        self,
        task: Task,
        cfg: TrainCfg,
        run_dir: str | Path,
        *,
        dataset: Dataset,
        evaluate: Callable[[Task], dict[str, float]] | None = None,
        run_cfg: dict[str, Any] | None = None,
        progress: bool = False,
        collate_fn: Callable[[list[dict[str, Any]]], dict[str, Any]] = collate_dicts,
    ) -> None:
        self.task, self.cfg, self.run_dir = task, cfg, Path(run_dir)
        self.dataset, self.evaluate, self.progress, self.collate_fn = dataset, evaluate, progress, collate_fn
        self.run_cfg = run_cfg or {"task": task.name, "task_args": task.export_cfg(), "train": to_dict(cfg)}
        self.callbacks: dict[str, list[Callback]] = {"on_step_end": []}
        self.step = 0
        self.epoch = 0
        self.consumed = 0  # samples of the current epoch already consumed by this rank
        self.last_logs: dict[str, float] = {}

    def add_callback(self, event: str, fn: Callback) -> None:
        """Registers ``fn(trainer, step, logs)`` for ``event`` (``on_step_end``)."""
        if event not in self.callbacks:
            raise ValueError(f"unknown event {event!r}; expected one of {list(self.callbacks)}")
        self.callbacks[event].append(fn)

    # ---- set-up ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.cfg
        self.dist: DistInfo = init_distributed_device(cfg.device)
        seed_everything(cfg.seed, self.dist.rank)
        self.device = self.dist.device
        self.task.to(self.device)
        self.model: torch.nn.Module = self.task
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = self.task.prepare_distributed(ids)
        if cfg.compile:
            self.model = torch.compile(self.model)  # type: ignore[assignment]
        self.optimizers = {
            name: create_optimizer(groups, cfg) for name, groups in self.task.optimizer_groups(cfg).items()
        }
        self.schedulers = {name: create_scheduler(opt, cfg) for name, opt in self.optimizers.items()}
        amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if cfg.precision not in amp_dtype:
            raise SemspaceError(f"train.precision {cfg.precision!r} is unknown; expected fp32, bf16 or fp16")
        self.amp_dtype = amp_dtype[cfg.precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16")
        self.ema = _Ema(self.task, cfg.ema_decay) if cfg.ema_decay > 0 else None
        n_items = len(self.dataset)  # type: ignore[arg-type]
        self.sampler = ShardSampler(
            n_items, shuffle=True, seed=cfg.seed, num_replicas=self.dist.world_size, rank=self.dist.rank
        )
        if len(self.sampler) < cfg.batch_size:
            raise SemspaceError(
                f"dataset has {n_items} items ({len(self.sampler)} per process), "
                f"fewer than train.batch_size={cfg.batch_size}; use a larger dataset or a smaller batch"
            )
        self.writer = MetricsWriter(self.run_dir, enabled=self.dist.primary)

    def _loader(self) -> Iterator[dict[str, Any]]:
        """Endless batches; crosses epoch boundaries and keeps (epoch, consumed) for resume.

        In-memory datasets (``CachedDataset``) are read in the main process: forking workers that copy nothing
        new would cost seconds per epoch.
        """
        while True:
            self.sampler.set_epoch(self.epoch, start=self.consumed)
            loader = DataLoader(
                self.dataset,
                batch_size=self.cfg.batch_size,
                sampler=self.sampler,
                num_workers=0 if getattr(self.dataset, "in_memory", False) else self.cfg.num_workers,
                collate_fn=self.collate_fn,
                drop_last=True,
                pin_memory=self.device.type == "cuda",
                # its own generator: starting an iterator must not consume the global RNG (exact resume)
                generator=torch.Generator().manual_seed(self.cfg.seed * 1000 + self.epoch),
            )
            for batch in loader:
                self.consumed += self.cfg.batch_size
                yield batch
            self.epoch, self.consumed = self.epoch + 1, 0

    # ---- checkpoints ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "task": self.task.name,
            "task_cfg": self.task.export_cfg(),
            "preprocess_cfg": (p.to_dict() if (p := self.task.preprocess_cfg()) else None),
            "state_dict": unwrap_model(self.task).state_dict(),
            "step": self.step,
            "train_cfg": to_dict(self.cfg),
            "run_cfg": self.run_cfg,
        }

    def save(self, name: str = "last.pt") -> Path | None:
        """Writes ``run_dir/name`` atomically (rank 0 only; the other ranks wait)."""
        path = None
        if self.dist.primary:
            state = self._state()
            state.update(
                optimizers={k: o.state_dict() for k, o in self.optimizers.items()},
                schedulers={k: s.state_dict() for k, s in self.schedulers.items()},
                scaler=self.scaler.state_dict(),
                ema=self.ema.module.state_dict() if self.ema else None,
                epoch=self.epoch,
                consumed=self.consumed,
                rng=_rng_state(),
            )
            path = save_checkpoint(self.run_dir / name, state)
        barrier()
        return path

    def export(self, name: str = "model.pt") -> Path | None:
        """Writes the inference checkpoint (EMA weights when enabled; no optimizer state)."""
        path = None
        if self.dist.primary:
            state = self._state()
            if self.ema is not None:
                state["state_dict"] = self.ema.module.state_dict()
            path = save_checkpoint(self.run_dir / name, state)
        barrier()
        return path

    def _resume(self, path: Path) -> None:
        ckpt = load_checkpoint(path, map_location=self.device)
        if ckpt.get("task") != self.task.name:
            raise SemspaceError(f"{path} was written by task {ckpt.get('task')!r}, not {self.task.name!r}")
        unwrap_model(self.task).load_state_dict(ckpt["state_dict"])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][k])
        for k, sched in self.schedulers.items():
            sched.load_state_dict(ckpt["schedulers"][k])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.module.load_state_dict(ckpt["ema"])
        self.step, self.epoch, self.consumed = ckpt["step"], ckpt["epoch"], ckpt["consumed"]
        if self.dist.world_size == 1:
            _set_rng_state(ckpt["rng"])
        log.info("resumed from %s at step %d", path, self.step)

    # ---- the loop -------------------------------------------------------------------------------
    def fit(self, resume: bool = True) -> dict[str, float]:
        """Trains until ``cfg.max_steps``; resumes from ``run_dir/last.pt`` when present and ``resume``.

        Returns:
            The final evaluation metrics (or the last logged training averages without ``evaluate``).
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._setup()
        last = self.run_dir / "last.pt"
        if resume and last.exists():
            self._resume(last)
        elif self.dist.primary:
            (self.run_dir / "metrics.jsonl").unlink(missing_ok=True)
        if self.dist.primary:
            atomic_write_text(self.run_dir / "config.yaml", yaml.safe_dump(self.run_cfg, sort_keys=False))
        cfg = self.cfg
        batches = self._loader()
        meters: dict[str, AverageMeter] = {}
        bar = _progress(self.progress and self.dist.primary, cfg.max_steps, self.step)
        self.task.train()
        t0 = time.time()
        while self.step < cfg.max_steps:
            micro = [self.task.prepare_batch(next(batches), self.device) for _ in range(cfg.grad_accum)]
            logs = self._train_step(micro)
            self.step += 1
            for k, v in logs.items():
                meters.setdefault(k, AverageMeter()).update(v)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{logs['loss']:.4f}")
            if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                rec = {k: m.avg for k, m in meters.items()}
                rec["lr"] = next(iter(self.optimizers.values())).param_groups[0]["lr"]
                rec["steps_per_s"] = cfg.log_every / max(time.time() - t0, 1e-9)
                self.writer.write({"step": self.step, "split": "train", **rec})
                self.last_logs = rec
                meters, t0 = {}, time.time()
            for fn in self.callbacks["on_step_end"]:
                fn(self, self.step, logs)
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < cfg.max_steps:
                self.save()
            if self.evaluate and cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                self._run_eval()
        if bar is not None:
            bar.close()
        self.save()
        self.export()
        result = self._run_eval() if self.evaluate else dict(self.last_logs)
        return result

    def _train_step(self, micro: list[dict[str, Any]]) -> dict[str, float]:
        cfg = self.cfg
        logs: dict[str, float] = {}
        for group, opt in self.optimizers.items():
            opt.zero_grad(set_to_none=True)
            for i, batch in enumerate(micro):
                sync = i == len(micro) - 1 or not hasattr(self.model, "no_sync")
                ctx = contextlib.nullcontext() if sync else self.model.no_sync()  # type: ignore[operator]
                with ctx, torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    out = self.model(batch, group=group)
                loss = out["loss"]
                if not torch.isfinite(loss):
                    terms = {k: float(v.detach()) for k, v in out.items() if torch.is_tensor(v) and v.numel() == 1}
                    raise NonFiniteLossError(
                        f"non-finite loss at step {self.step + 1} (optimizer group {group!r}): {terms}; "
                        "lower train.lr, enable train.clip_grad, or check the inputs"
                    )
                with ctx:
                    self.scaler.scale(loss / len(micro)).backward()
                prefix = "" if len(self.optimizers) == 1 else f"{group}/"
                for k, v in out.items():
                    if torch.is_tensor(v) and v.numel() == 1:
                        key = prefix + k
                        logs[key] = logs.get(key, 0.0) + float(v.detach()) / len(micro)
            if cfg.clip_grad > 0:
                self.scaler.unscale_(opt)
                params = [p for g in opt.param_groups for p in g["params"]]
                logs[f"{group}/grad_norm" if len(self.optimizers) > 1 else "grad_norm"] = float(
                    torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
                )
            self.scaler.step(opt)
            self.scaler.update()
            self.schedulers[group].step()
        if self.ema is not None:
            self.ema.update(self.task)
        if "loss" not in logs:  # several groups: report their sum as "loss"
            logs["loss"] = sum(v for k, v in logs.items() if k.endswith("/loss"))
        return logs

    def _run_eval(self) -> dict[str, float]:
        assert self.evaluate is not None
        model = self.ema.module if self.ema is not None else unwrap_model(self.task)
        model.eval()
        with torch.no_grad():
            metrics = self.evaluate(model)  # type: ignore[arg-type]
        self.task.train()
        self.writer.write({"step": self.step, "split": "eval", **metrics})
        return metrics


class _Ema:
    """Exponential moving average of a task's weights (buffers copied)."""

    def __init__(self, task: Task, decay: float) -> None:
        self.module = copy.deepcopy(unwrap_model(task)).eval()
        self.decay = decay
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, task: Task) -> None:
        src = unwrap_model(task).state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(self.decay).add_(src[k].detach(), alpha=1 - self.decay)
            else:
                v.copy_(src[k])


def _rng_state() -> dict[str, Any]:
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


def _progress(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True, smoothing=0.1)
