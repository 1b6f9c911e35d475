"""THE training loop, shared by every method (STYLE D.14).

The trainer owns autocast, gradient accumulation (with DDP ``no_sync`` on all but the last micro-batch),
clipping, optimizer and scheduler steps (one optimizer per task-declared group, stepped in the declared
order on the same micro-batches), EMA, the non-finite-loss check, callbacks, ``metrics.jsonl`` and atomic
checkpoints. It never branches on the method: a task returns ``{"loss": ...}`` and the trainer does the rest.

Task hooks it honours, without knowing the method (``tasks/base.py``):

* ``Task.train_sampler(dataset, *, stream, seed, num_replicas, rank)``: the sampler of each data stream
  (None: a shuffled ``ShardSampler`` batched by the stream's batch size; a batch sampler such as
  ``ClassBalancedSampler`` draws its own P x K batches);
* several data streams: ``extra_datasets={name: dataset}`` are drawn in every step (and every micro-batch) beside
  the main dataset, each with its own sampler, epoch and position; the batch carries each stream's batch under
  its name (``batch["source"] = {...}``);
* ``Task.step_every() -> {group: N}``: a group runs forward, backward, optimizer and scheduler step only on trainer
  steps ``s`` with ``s % N == 0`` (0-based; the others keep stepping every step); only what ran is logged;
* ``init=[InitSpec, ...]`` (``engine/stages.py``): pretrained submodules loaded from other runs and frozen
  (``Task.freeze``) before DDP, the EMA copy and the optimizers are built; parameters with
  ``requires_grad=False`` are never given to an optimizer.

Resume: ``last.pt`` holds the task, optimizers, schedulers, scaler, EMA, RNG states, the step and the data
position of every stream (main: ``epoch``, ``consumed``; extra streams: ``streams``) and the run's clock
(``elapsed``). Every sampler order is a pure function of (seed, epoch), so a killed and resumed run follows the
uninterrupted run step for step. On resume the ``init`` stages come from ``last.pt`` and only their freeze is
applied again; ``metrics.jsonl`` drops the rows the killed run wrote after the checkpoint (the resumed run writes
them again: one row per step) and its ``time`` continues from the checkpoint's clock. A ``last.pt`` of another
model (another task, or weights of other shapes) is a ``CheckpointError`` naming the config keys that differ.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from semspace.config import InitSpec, TrainCfg, to_dict
from semspace.data.collate import collate_dicts
from semspace.data.samplers import ShardSampler
from semspace.engine.distributed import DistInfo, barrier, init_distributed_device
from semspace.engine.logging import AverageMeter, MetricsWriter, read_metrics
from semspace.engine.optim import create_optimizer, create_scheduler
from semspace.engine.stages import apply_init
from semspace.errors import CheckpointError, ConfigError, SemspaceError
from semspace.models.checkpoint import load_checkpoint, save_checkpoint, unwrap_model
from semspace.tasks.base import Task
from semspace.utils.io import atomic_write_text
from semspace.utils.seed import seed_everything

log = logging.getLogger(__name__)

Callback = Callable[["Trainer", int, dict[str, float]], None]

MAIN_STREAM = "train"  # the stream name of ``dataset`` (``data.train``) in ``Task.train_sampler``


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
        for name in self.extra_datasets:
            if not name or name == MAIN_STREAM:
                raise ConfigError(f"data.extra stream name {name!r} is reserved or empty; name it after its role")
        unknown = sorted(set(self.extra_batch_sizes) - set(self.extra_datasets))
        if unknown:
            raise ConfigError(f"extra_batch_sizes names {unknown}, which are not extra_datasets streams")
        self.init = list(init)
        self.callbacks: dict[str, list[Callback]] = {"on_step_end": []}
        self.step = 0
        self.streams: dict[str, _Stream] = {}  # built by _setup: MAIN_STREAM first, then the extra streams
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
        self.dist: DistInfo = init_distributed_device(cfg.device)
        seed_everything(cfg.seed, self.dist.rank)
        self.device = self.dist.device
        apply_init(self.task, self.init, load=load_init)  # before DDP, EMA and optimizers see the parameters
        self.task.to(self.device)
        self.model: torch.nn.Module = self.task
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = self.task.prepare_distributed(ids)
        if cfg.compile:
            self.model = torch.compile(self.model)  # type: ignore[assignment]
        self.optimizers = {
            name: create_optimizer(_trainable(groups), cfg) for name, groups in self.task.optimizer_groups(cfg).items()
        }
        self.every = self._step_every()
        self.schedulers = {
            name: create_scheduler(opt, cfg, every=self.every[name]) for name, opt in self.optimizers.items()
        }
        amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if cfg.precision not in amp_dtype:
            raise SemspaceError(f"train.precision {cfg.precision!r} is unknown; expected fp32, bf16 or fp16")
        self.amp_dtype = amp_dtype[cfg.precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16")
        self.ema = _Ema(self.task, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.streams = {MAIN_STREAM: self._stream(MAIN_STREAM, self.dataset, cfg.batch_size, cfg.seed)}
        for name, ds in self.extra_datasets.items():
            size = self.extra_batch_sizes.get(name) or cfg.batch_size
            self.streams[name] = self._stream(name, ds, size, _stream_seed(cfg.seed, name))
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

    def _stream(self, name: str, dataset: Dataset, batch_size: int, seed: int) -> _Stream:
        """The sampler of one data stream (the task's ``train_sampler`` or a shuffled ``ShardSampler``), checked."""
        n_items = len(dataset)  # type: ignore[arg-type]
        world, rank = self.dist.world_size, self.dist.rank
        where = "dataset" if name == MAIN_STREAM else f"data.extra.{name}"
        sampler: Any = self.task.train_sampler(dataset, stream=name, seed=seed, num_replicas=world, rank=rank)
        if sampler is None:
            sampler = ShardSampler(n_items, shuffle=True, seed=seed, num_replicas=world, rank=rank)
        else:
            _check_sampler(sampler, self.task.name, name)
        if getattr(sampler, "yields_batches", False):
            batch_size = int(sampler.batch_size)
            if len(sampler) < 1:
                raise SemspaceError(
                    f"{where}: the sampler of Task.train_sampler ({type(sampler).__name__}) yields no batch per "
                    f"process from {n_items} items; use a larger dataset or smaller batches"
                )
        elif len(sampler) < batch_size:
            what = "train.batch_size" if name == MAIN_STREAM else f"the batch size of data.extra.{name}"
            raise SemspaceError(
                f"{where} has {n_items} items ({len(sampler)} per process), "
                f"fewer than {what}={batch_size}; use a larger dataset or a smaller batch"
            )
        return _Stream(name, dataset, sampler, batch_size, seed)

    def _stream_batches(self, s: _Stream) -> Iterator[dict[str, Any]]:
        """Endless batches of one stream; crosses epoch boundaries and keeps (epoch, consumed) for resume.

        In-memory datasets (``CachedDataset``) are read in the main process: forking workers that copy nothing
        new would cost seconds per epoch.
        """
        while True:
            s.sampler.set_epoch(s.epoch, start=s.consumed)
            if getattr(s.sampler, "yields_batches", False):
                batching: dict[str, Any] = {"batch_sampler": s.sampler}
            else:
                batching = {"batch_size": s.batch_size, "sampler": s.sampler, "drop_last": True}
            loader = DataLoader(
                s.dataset,
                **batching,
                num_workers=0 if getattr(s.dataset, "in_memory", False) else self.cfg.num_workers,
                collate_fn=self.collate_fn,
                pin_memory=self.device.type == "cuda",
                # its own generator: starting an iterator must not consume the global RNG (exact resume)
                generator=torch.Generator().manual_seed(s.seed * 1000 + s.epoch),
            )
            for batch in loader:
                s.consumed += s.batch_size
                yield batch
            s.epoch, s.consumed = s.epoch + 1, 0

    def _loader(self) -> Iterator[dict[str, Any]]:
        """Endless step batches: the main stream's batch, with each extra stream's batch under its name."""
        main = self._stream_batches(self.streams[MAIN_STREAM])
        extra = {name: self._stream_batches(s) for name, s in self.streams.items() if name != MAIN_STREAM}
        while True:
            batch = next(main)
            for name, it in extra.items():
                if name in batch:
                    raise ConfigError(
                        f"data.extra stream {name!r} has the name of a key of the data.train batch; rename the stream"
                    )
                batch[name] = next(it)
            yield batch

    # ---- checkpoints ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "task": self.task.name,
            "task_cfg": self.task.export_cfg(),
            "domains": [spec.to_dict() for spec in self.task.domains().values()],
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
                streams={
                    k: {"epoch": s.epoch, "consumed": s.consumed} for k, s in self.streams.items() if k != MAIN_STREAM
                },
                rng=_rng_state(),
                elapsed=self.writer.elapsed(),
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
        missing = [k for k in ("state_dict", "optimizers", "schedulers", "scaler", "step", "epoch") if k not in ckpt]
        if missing:
            raise CheckpointError(
                f"{path} is not a resumable checkpoint (no {', '.join(missing)}); remove it to train {self.run_dir} "
                "from scratch, or use another run folder"
            )
        if ckpt.get("task") != self.task.name:
            raise self._other_model(path, ckpt, f"task {ckpt.get('task')!r}, not {self.task.name!r}")
        try:
            unwrap_model(self.task).load_state_dict(ckpt["state_dict"])
            for k, opt in self.optimizers.items():
                opt.load_state_dict(ckpt["optimizers"][k])
        except (RuntimeError, ValueError, KeyError) as exc:
            reason = " ".join(str(exc).split())
            raise self._other_model(path, ckpt, reason[:160] + ("..." if len(reason) > 160 else "")) from None
        changed = _config_diff(ckpt["run_cfg"], self.run_cfg) if ckpt.get("run_cfg") else []
        if changed:
            log.warning(
                "resuming %s with a changed config: %s (the optimizer and scheduler continue from their saved state)",
                path, _describe_diff(changed),
            )  # fmt: skip
        for k, sched in self.schedulers.items():
            sched.load_state_dict(ckpt["schedulers"][k])
        self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.module.load_state_dict(ckpt["ema"])
        self.step = ckpt["step"]
        main = self.streams[MAIN_STREAM]
        main.epoch, main.consumed = ckpt["epoch"], ckpt["consumed"]
        saved = ckpt.get("streams") or {}
        for name, s in self.streams.items():
            if name == MAIN_STREAM:
                continue
            if name not in saved:
                log.warning("%s has no position for data stream %r; it starts at epoch 0", path, name)
                continue
            s.epoch, s.consumed = saved[name]["epoch"], saved[name]["consumed"]
        dropped = sorted(set(saved) - set(self.streams))
        if dropped:
            log.warning("%s: data stream(s) %s are no longer configured; they are dropped", path, dropped)
        if self.dist.world_size == 1:
            _set_rng_state(ckpt["rng"])
        self.writer = MetricsWriter(self.run_dir, enabled=self.dist.primary, elapsed=self._elapsed_at(ckpt))
        redone = self.writer.truncate(self.step)
        log.info(
            "resumed from %s at step %d (%.1f s trained; %d metrics row(s) after it will be written again)",
            path, self.step, self.writer.elapsed(), redone,
        )  # fmt: skip

    def _elapsed_at(self, ckpt: dict[str, Any]) -> float:
        """The clock of a checkpoint: its ``elapsed``, else (written before it was stored) the time of the last
        ``metrics.jsonl`` row up to its step, else 0."""
        if isinstance(ckpt.get("elapsed"), int | float):
            return float(ckpt["elapsed"])
        times = [r["time"] for r in read_metrics(self.run_dir) if isinstance(r.get("step"), int)
                 and r["step"] <= ckpt["step"] and isinstance(r.get("time"), int | float)]  # fmt: skip
        return float(max(times, default=0.0))

    def _other_model(self, path: Path, ckpt: dict[str, Any], reason: str) -> CheckpointError:
        """The error for a ``last.pt`` that holds another model than the one configured."""
        changed = _config_diff(ckpt["run_cfg"], self.run_cfg) if ckpt.get("run_cfg") else []
        what = f"the config differs in {_describe_diff(changed)}" if changed else reason
        return CheckpointError(
            f"{self.run_dir} holds another model's checkpoint ({path.name}, step {ckpt.get('step')}): {what}. "
            f"To start fresh, use another run folder or remove {self.run_dir} (--no-resume overwrites it); to resume "
            f"it, train with the config it was trained with ({self.run_dir / 'config.yaml'})"
        )

    # ---- the loop -------------------------------------------------------------------------------
    def fit(self, resume: bool = True) -> dict[str, float]:
        """Trains until ``cfg.max_steps``; resumes from ``run_dir/last.pt`` when present and ``resume``.

        Returns:
            The final evaluation metrics (or the last logged training averages without ``evaluate``).
        """
        if self.cfg.threads < 0:
            raise ConfigError(f"train.threads={self.cfg.threads}: expected >= 1, or 0 for torch's default")
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
        bar = self._bar = _progress(self.progress and self.dist.primary, cfg.max_steps, self.step)
        with _logging_beside(bar):
            self._loop()
            if bar is not None:
                bar.close()
            self.save()
            self.export()
            log.info("step %d: wrote %s and %s", self.step, self.run_dir / "last.pt", self.run_dir / "model.pt")
            if self.evaluate is None:
                return dict(self.last_logs)
            log.info("evaluating the final model (the config's eval: section)")
            metrics = self._run_eval()
            log.info("evaluation at step %d: %s", self.step, _fmt(metrics))
            return metrics

    def _loop(self) -> None:
        cfg = self.cfg
        batches = self._loader()
        meters: dict[str, AverageMeter] = {}
        bar = self._bar
        self.task.train()
        t0, steps_in_window = time.time(), 0
        while self.step < cfg.max_steps:
            micro = [self.task.prepare_batch(next(batches), self.device) for _ in range(cfg.grad_accum)]
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
                rec = {k: m.avg for k, m in meters.items()}
                rec["lr"] = next(iter(self.optimizers.values())).param_groups[0]["lr"]
                rec["steps_per_s"] = steps_in_window / max(time.time() - t0, 1e-9)
                self.writer.write({"step": self.step, "split": "train", **rec})
                log.info("step %d/%d: %s", self.step, cfg.max_steps, _fmt(rec))
                self.last_logs = rec
                meters, t0, steps_in_window = {}, time.time(), 0
            for fn in self.callbacks["on_step_end"]:
                fn(self, self.step, logs)
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < cfg.max_steps:
                self.save()
                log.debug("step %d: wrote %s", self.step, self.run_dir / "last.pt")
            if self.evaluate and cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                log.info("evaluation at step %d: %s", self.step, _fmt(self._run_eval()))

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
        with torch.no_grad():
            metrics = self.evaluate(model)  # type: ignore[arg-type]
        self.task.train()
        self.writer.write({"step": self.step, "split": "eval", **metrics})
        return metrics


class _Stream:
    """One training data stream: its dataset, sampler, per-process batch size and position (epoch, consumed)."""

    def __init__(self, name: str, dataset: Dataset, sampler: Any, batch_size: int, seed: int) -> None:
        self.name, self.dataset, self.sampler, self.batch_size, self.seed = name, dataset, sampler, batch_size, seed
        self.epoch = 0
        self.consumed = 0  # items of the current epoch already consumed by this rank


def _stream_seed(seed: int, name: str) -> int:
    """An extra stream's sampler seed: differs from the main one's (equal-length sets get different orders)."""
    return (int(seed) + zlib.crc32(name.encode())) % 2**31


def _check_sampler(sampler: Any, task: str, stream: str) -> None:
    where = f"Task.train_sampler of task {task!r} (stream {stream!r}) returned a {type(sampler).__name__}"
    try:
        inspect.signature(sampler.set_epoch).bind(0, start=0)
    except (AttributeError, TypeError):
        raise ConfigError(
            f"{where} without set_epoch(epoch, start); resumable training needs a sampler that skips the first "
            "`start` items of an epoch (see data.samplers.ShardSampler / ClassBalancedSampler)"
        ) from None
    if getattr(sampler, "yields_batches", False) and not isinstance(getattr(sampler, "batch_size", None), int):
        raise ConfigError(f"{where} with yields_batches but no integer batch_size (the items per batch)")


def _trainable(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The param groups without frozen parameters (``requires_grad=False``); emptied groups are dropped."""
    out = []
    for g in groups:
        params = [p for p in g["params"] if p.requires_grad]
        if params:
            out.append({**g, "params": params})
    return out


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


def _config_diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` for every leaf where two resolved configs differ; the model's keys
    (``task``, ``task_args``) first."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=lambda k: (k not in ("task", "task_args"), str(k))):
            out += _config_diff(old.get(k, _MISSING), new.get(k, _MISSING), f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        old, new = list(old), list(new)
    return [] if old == new else [(prefix, old, new)]


_MISSING = "(not set)"


def _describe_diff(changed: list[tuple[str, Any, Any]], limit: int = 4) -> str:
    def short(v: Any) -> str:
        text = repr(v) if v is not _MISSING else v
        return text if len(text) <= 40 else text[:37] + "..."

    parts = [f"{key} {short(a)} -> {short(b)}" for key, a, b in changed[:limit]]
    more = f" (and {len(changed) - limit} more)" if len(changed) > limit else ""
    return ", ".join(parts) + more


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


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def _logging_beside(bar: Any) -> contextlib.AbstractContextManager[Any]:
    """While a progress bar is shown, console log lines are written above it (``tqdm.contrib.logging``)."""
    if bar is None:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm()


def _progress(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True, smoothing=0.1)
