"""THE training loop, shared by every method (STYLE D.14).

The trainer owns autocast, gradient accumulation (with DDP ``no_sync`` on all but the last micro-batch),
clipping, optimizer and scheduler steps (one optimizer per task-declared group, stepped in the declared
order on the same micro-batches), EMA, the non-finite-loss check, callbacks, ``metrics.jsonl`` (every term averaged
over the DDP ranks: the global batch's) and atomic checkpoints. It never branches on the method: a task returns
``{"loss": ...}`` and the trainer does the rest. Its parts live beside it: the data streams in ``engine/streams.py``,
what ``last.pt`` and ``model.pt`` hold and how a resume reads them back in ``engine/checkpointing.py``, the EMA copy
in ``engine/ema.py``, the speed options (``train.channels_last``, ``train.fused_optimizer``, ``train.compile``) and
the step's wait on data (``data_wait`` in ``metrics.jsonl``) in ``engine/fast_paths.py``.

Task hooks it honours, without knowing the method (``tasks/base.py``):

* ``Task.train_sampler(dataset, *, stream, seed, num_replicas, rank)``: the sampler of each data stream
  (``engine/streams.py``): the main dataset and ``extra_datasets={name: dataset}``, drawn in every step (and every
  micro-batch), each with its own sampler, epoch and position and under its name in the batch;
* ``Task.step_every() -> {group: N}``: a group runs forward, backward, optimizer and scheduler step only on trainer
  steps ``s`` with ``s % N == 0`` (0-based; the others keep stepping every step); only what ran is logged;
* ``init=[InitSpec, ...]`` (``engine/stages.py``): pretrained submodules loaded from other runs and frozen
  (``Task.freeze``) before DDP, the EMA copy and the optimizers are built; parameters with
  ``requires_grad=False`` are never given to an optimizer.

Resume: ``last.pt`` holds everything to continue step for step (``engine/checkpointing.py``). On resume the
``init`` stages come from ``last.pt`` and only their freeze is applied again; ``metrics.jsonl`` drops the rows the
killed run wrote after the checkpoint (the resumed run writes them again: one row per step) and its ``time``
continues from the checkpoint's clock.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import Dataset

from semspace.config import InitSpec, TrainCfg, to_dict
from semspace.data.collate import collate_dicts
from semspace.engine.checkpointing import elapsed_at, model_state, restore, resume_state
from semspace.engine.distributed import DistInfo, barrier, init_distributed_device, mean_over_ranks
from semspace.engine.ema import Ema
from semspace.engine.fast_paths import (
    StepTimer,
    channels_last_batch,
    check_speed_cfg,
    resolve_channels_last,
    resolve_fused,
)
from semspace.engine.logging import AverageMeter, MetricsWriter, format_metrics, logs_beside_bar, progress_bar
from semspace.engine.optim import create_optimizer, create_scheduler
from semspace.engine.stages import apply_init
from semspace.engine.streams import MAIN_STREAM, DataStream, build_streams, check_extra_streams, step_batches
from semspace.errors import ConfigError, SemspaceError
from semspace.eval.embedding import progress_bars
from semspace.models.checkpoint import load_checkpoint, save_checkpoint, unwrap_model
from semspace.tasks.base import Task
from semspace.utils.device import bf16_warning
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
        collate_fn: turns a list of items into a batch dict (every stream).
        extra_datasets: more training streams ``{name: dataset}`` (``data.extra``); every batch holds one batch of
            each under its name. ``"train"`` is reserved for ``dataset``.
        extra_batch_sizes: per-process batch size of an extra stream (missing or 0: ``cfg.batch_size``; a stream
            whose ``Task.train_sampler`` yields batches uses that sampler's ``batch_size``).
        init: pretrained stages to load and freeze before training (``RunCfg.init``, ``engine/stages.py``).

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
        extra_datasets: dict[str, Dataset] | None = None,
        extra_batch_sizes: dict[str, int] | None = None,
        init: Sequence[InitSpec] = (),
    ) -> None:
        self.task, self.cfg, self.run_dir = task, cfg, Path(run_dir)
        self.dataset, self.evaluate, self.progress, self.collate_fn = dataset, evaluate, progress, collate_fn
        self.run_cfg = run_cfg or {"task": task.name, "task_args": task.export_cfg(), "train": to_dict(cfg)}
        self.extra_datasets = dict(extra_datasets or {})
        self.extra_batch_sizes = dict(extra_batch_sizes or {})
        check_extra_streams(self.extra_datasets, self.extra_batch_sizes)
        self.init = list(init)
        self.callbacks: dict[str, list[Callback]] = {"on_step_end": []}
        self.step = 0
        self.streams: dict[str, DataStream] = {}  # built by _setup: MAIN_STREAM first, then the extra streams
        self.last_logs: dict[str, float] = {}
        self._bar: Any = None  # the progress bar of fit, when shown

    @property
    def epoch(self) -> int:
        """The main stream's epoch."""
        return self.streams[MAIN_STREAM].epoch if self.streams else 0

    @property
    def consumed(self) -> int:
        """Items of the main stream's current epoch already consumed by this rank."""
        return self.streams[MAIN_STREAM].consumed if self.streams else 0

    def add_callback(self, event: str, fn: Callback) -> None:
        """Registers ``fn(trainer, step, logs)`` for ``event`` (``on_step_end``)."""
        if event not in self.callbacks:
            raise ValueError(f"unknown event {event!r}; expected one of {list(self.callbacks)}")
        self.callbacks[event].append(fn)

    # ---- set-up ---------------------------------------------------------------------------------
    def _setup(self, load_init: bool = True) -> None:
        cfg = self.cfg
        check_speed_cfg(cfg)
        self.dist: DistInfo = init_distributed_device(cfg.device)
        seed_everything(cfg.seed, self.dist.rank)
        self.device = self.dist.device
        apply_init(self.task, self.init, load=load_init)  # before DDP, EMA and optimizers see the parameters
        self.task.to(self.device)
        # speed options (engine/fast_paths.py; docs/engine.md "Speed"): NHWC weights here, NHWC images in _loop
        self.channels_last = resolve_channels_last(cfg.channels_last, self.task, self.device)
        if self.channels_last:
            self.task.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.fused = resolve_fused(cfg.fused_optimizer, cfg.optimizer, self.device)
        self.model: torch.nn.Module = self.task
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = self.task.prepare_distributed(ids)
        if cfg.compile:
            self.model = torch.compile(self.model)  # type: ignore[assignment]
        self.optimizers = {
            name: create_optimizer(_trainable(groups), cfg, fused=self.fused)
            for name, groups in self.task.optimizer_groups(cfg).items()
        }
        self.every = self._step_every()
        self.schedulers = {
            name: create_scheduler(opt, cfg, every=self.every[name]) for name, opt in self.optimizers.items()
        }
        amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if cfg.precision not in amp_dtype:
            raise SemspaceError(f"train.precision {cfg.precision!r} is unknown; expected fp32, bf16 or fp16")
        self.amp_dtype = amp_dtype[cfg.precision]
        slow_bf16 = bf16_warning(self.device) if cfg.precision == "bf16" else None
        if slow_bf16 and self.dist.primary:
            log.warning(slow_bf16)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16")
        self.ema = Ema(self.task, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.streams = build_streams(
            self.task, self.dataset, self.extra_datasets, self.extra_batch_sizes,
            batch_size=cfg.batch_size, seed=cfg.seed, num_replicas=self.dist.world_size, rank=self.dist.rank,
        )  # fmt: skip
        self.sampler = self.streams[MAIN_STREAM].sampler

    def _step_every(self) -> dict[str, int]:
        every = self.task.step_every()
        unknown = sorted(set(every) - set(self.optimizers))
        if unknown:
            raise ConfigError(
                f"Task.step_every() of task {self.task.name!r} names optimizer group(s) {unknown}; "
                f"its groups are {list(self.optimizers)}"
            )
        bad = {g: n for g, n in every.items() if isinstance(n, bool) or not isinstance(n, int) or n < 1}
        if bad:
            raise ConfigError(f"Task.step_every() of task {self.task.name!r}: {bad}; expected integers N >= 1")
        return {g: every.get(g, 1) for g in self.optimizers}

    # ---- checkpoints ----------------------------------------------------------------------------
    def save(self, name: str = "last.pt") -> Path | None:
        """Writes ``run_dir/name`` atomically (rank 0 only; the other ranks wait)."""
        path = None
        if self.dist.primary:
            state = self._model_state() | resume_state(
                optimizers=self.optimizers, schedulers=self.schedulers, scaler=self.scaler, ema=self.ema,
                streams=self.streams, elapsed=self.writer.elapsed(),
            )  # fmt: skip
            path = save_checkpoint(self.run_dir / name, state)
        barrier()
        return path

    def export(self, name: str = "model.pt") -> Path | None:
        """Writes the inference checkpoint (EMA weights when enabled; no optimizer state)."""
        path = None
        if self.dist.primary:
            state = self._model_state()
            if self.ema is not None:
                state["state_dict"] = self.ema.module.state_dict()
            path = save_checkpoint(self.run_dir / name, state)
        barrier()
        return path

    def _model_state(self) -> dict[str, Any]:
        return model_state(self.task, step=self.step, train_cfg=self.cfg, run_cfg=self.run_cfg)

    def _resume(self, path: Path) -> None:
        """Continues the run of ``path`` (``last.pt``): every state in place, the metrics after its step dropped."""
        ckpt = load_checkpoint(path, map_location=self.device)
        self.step = restore(
            ckpt, path, run_dir=self.run_dir, run_cfg=self.run_cfg, task=self.task, optimizers=self.optimizers,
            schedulers=self.schedulers, scaler=self.scaler, ema=self.ema, streams=self.streams,
            rng=self.dist.world_size == 1,
        )  # fmt: skip
        for opt in self.optimizers.values():  # this run's optimizer kernel, whichever the checkpoint's run used
            for group in opt.param_groups:
                group["fused"] = self.fused or None
        self.writer = MetricsWriter(self.run_dir, enabled=self.dist.primary, elapsed=elapsed_at(ckpt, self.run_dir))
        redone = self.writer.truncate(self.step)
        log.info(
            "resumed from %s at step %d (%.1f s trained; %d metrics row(s) after it will be written again)",
            path, self.step, self.writer.elapsed(), redone,
        )  # fmt: skip

    # ---- the loop -------------------------------------------------------------------------------
    def fit(self, resume: bool = True) -> dict[str, float]:
        """Trains until ``cfg.max_steps``; resumes from ``run_dir/last.pt`` when present and ``resume``.

        Returns:
            The final evaluation metrics (or the last logged training averages without ``evaluate``).
        """
        if self.cfg.threads < 0:
            raise ConfigError(f"train.threads={self.cfg.threads}: expected >= 1, or 0 for the command's (--threads)")
        before = torch.get_num_threads()
        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        try:
            return self._fit(resume)
        finally:
            torch.set_num_threads(before)

    def _fit(self, resume: bool) -> dict[str, float]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        last = self.run_dir / "last.pt"
        resuming = resume and last.exists()
        self._setup(load_init=not resuming)  # resumed: the init stages' weights come from last.pt
        if resuming:
            self._resume(last)
        else:
            if self.dist.primary:
                (self.run_dir / "metrics.jsonl").unlink(missing_ok=True)
            self.writer = MetricsWriter(self.run_dir, enabled=self.dist.primary)
        if self.dist.primary:
            atomic_write_text(self.run_dir / "config.yaml", yaml.safe_dump(self.run_cfg, sort_keys=False))
        cfg = self.cfg
        n_items = len(self.dataset)  # type: ignore[arg-type]
        log.info(
            "training task %r in %s: steps %d -> %d, batch %d x %d process(es), %d training items, device %s",
            self.task.name, self.run_dir, self.step, cfg.max_steps, cfg.batch_size, self.dist.world_size, n_items,
            self.device,
        )  # fmt: skip
        bar = self._bar = progress_bar(self.progress and self.dist.primary, cfg.max_steps, self.step)
        with logs_beside_bar(bar):
            self._loop()
            if bar is not None:
                bar.close()
            self.save()
            self.export()
            if self.dist.primary:  # the files are rank 0's to write, so it alone says so
                log.info("step %d: wrote %s and %s", self.step, self.run_dir / "last.pt", self.run_dir / "model.pt")
            if self.evaluate is None:
                return dict(self.last_logs)
            log.info("evaluating the final model (the config's eval: section)")
            metrics = self._run_eval()
            log.info("evaluation at step %d: %s", self.step, format_metrics(metrics))
            return metrics

    def _loop(self) -> None:
        cfg = self.cfg
        batches = StepTimer(step_batches(
            self.streams, collate_fn=self.collate_fn, num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda",
        ))  # fmt: skip
        meters: dict[str, AverageMeter] = {}
        bar = self._bar
        self.task.train()
        t0, steps_in_window = time.time(), 0
        while self.step < cfg.max_steps:
            micro = [self.task.prepare_batch(next(batches), self.device) for _ in range(cfg.grad_accum)]
            if self.channels_last:
                micro = [channels_last_batch(b) for b in micro]
            logs = self._train_step(micro)
            self.step += 1
            steps_in_window += 1
            for k, v in logs.items():
                meters.setdefault(k, AverageMeter()).update(v)
            if bar is not None:
                bar.update(1)
                if "loss" in logs:
                    bar.set_postfix(loss=f"{logs['loss']:.4f}")
            if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                rec = mean_over_ranks({k: m.avg for k, m in meters.items()}, self.device)  # the global batch's
                rec["lr"] = next(iter(self.optimizers.values())).param_groups[0]["lr"]
                window = max(time.time() - t0, 1e-9)
                rec["steps_per_s"] = steps_in_window / window
                rec["data_wait"] = batches.take() / window  # share of the window's wall time spent in next()
                self.writer.write({"step": self.step, "split": "train", **rec})
                log.info("step %d/%d: %s", self.step, cfg.max_steps, format_metrics(rec))
                self.last_logs = rec
                meters, t0, steps_in_window = {}, time.time(), 0
            for fn in self.callbacks["on_step_end"]:
                fn(self, self.step, logs)
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < cfg.max_steps:
                self.save()
                log.debug("step %d: wrote %s", self.step, self.run_dir / "last.pt")
            if self.evaluate and cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                log.info("evaluation at step %d: %s", self.step, format_metrics(self._run_eval()))

    def _train_step(self, micro: list[dict[str, Any]]) -> dict[str, float]:
        cfg = self.cfg
        logs: dict[str, float] = {}
        ran = False
        for group, opt in self.optimizers.items():
            if self.step % self.every[group]:  # Task.step_every: this group is not due on this step
                continue
            ran = True
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
        if "loss" not in logs and ran:  # several groups: report the sum of those that ran as "loss"
            logs["loss"] = sum(v for k, v in logs.items() if k.endswith("/loss"))
        return logs

    def _run_eval(self) -> dict[str, float]:
        assert self.evaluate is not None
        model = self.ema.module if self.ema is not None else unwrap_model(self.task)
        model.eval()
        with torch.no_grad(), progress_bars(self.progress):  # the protocol's embedding loops show their bars
            metrics = self.evaluate(model)  # type: ignore[arg-type]
        self.task.train()
        self.writer.write({"step": self.step, "split": "eval", **metrics})
        return metrics


def _trainable(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The param groups without frozen parameters (``requires_grad=False``); emptied groups are dropped."""
    out = []
    for g in groups:
        params = [p for p in g["params"] if p.requires_grad]
        if params:
            out.append({**g, "params": params})
    return out
