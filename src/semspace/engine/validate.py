"""Validate a whole run config before anything is built: every registry name and every value, in one pass.

``validate_config`` runs at the start of ``engine.run.train`` (and so of ``semspace train``), before a dataset is
rendered or a model built: a mistyped optimizer or a ``train.batch_size=0`` is reported in a fraction of a
second, not after the training data is cached. It checks

* the task name and the keys and types of ``task_args`` (the task's ``Cfg``), without building the task; the
  registry names inside ``task_args`` (composer, loss, encoder presets) are checked when the task is built, right
  after, still before any data is rendered (``tasks.create_task`` names the ``task_args`` key);
* every dataset (``data.train``, ``data.val``, ``data.extra.*``, the ``eval:`` protocol's ``data``): its name and
  the arguments it accepts;
* the ``eval:`` protocol's name and arguments;
* every ``train.*`` value (``batch_size >= 1``, ``lr > 0``, a known optimizer, scheduler and precision, ...);
* every ``init`` stage (its checkpoint file exists, a module is named).

Every problem found is reported in one ``ConfigError`` line, each with its key and where its value came from
(``ConfigSource``: a ``--set`` override, the YAML file, or the default).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from semspace.config import ConfigSource, DataSpec, RunCfg, from_dict
from semspace.data.registry import DATASETS
from semspace.engine.fast_paths import is_tristate
from semspace.engine.optim import OPTIMIZERS, SCHEDULERS
from semspace.errors import ConfigError
from semspace.eval.protocols.registry import PROTOCOLS
from semspace.registry import UnknownNameError
from semspace.tasks.registry import TASKS

PRECISIONS = ("fp32", "bf16", "fp16")  # train.precision
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class Problem:
    """One problem of a config: its dotted key, what is wrong and what was expected."""

    key: str
    message: str
    unknown: UnknownNameError | None = None  # set when the problem is an unknown name


def validate_config(cfg: RunCfg, source: ConfigSource | None = None) -> None:
    """Raises one ``ConfigError`` naming every problem of ``cfg`` (module docstring); returns when there is none.

    Args:
        cfg: the run config (``config.load_run_cfg``).
        source: where the config came from, so each problem says which ``--set`` or file gave the value.

    Raises:
        UnknownNameError: the only problem is an unknown name (located at its key).
        ConfigError: any other problem, or several.

    Example:
        >>> validate_config(load_run_cfg("configs/align/world_2d_3d.yaml", ["train.optimizer=adamm"]))
        UnknownNameError: train.optimizer (--set train.optimizer=adamm): unknown optimizer 'adamm'; did you mean ...
    """
    problems = config_problems(cfg)
    if not problems:
        return
    src = source or ConfigSource()
    if len(problems) == 1:
        p = problems[0]
        raise p.unknown.at(src.describe(p.key)) if p.unknown else ConfigError(f"{src.describe(p.key)}: {p.message}")
    text = "; ".join(f"({i}) {src.describe(p.key)}: {p.message}" for i, p in enumerate(problems, start=1))
    raise ConfigError(f"{len(problems)} problems in the config: {text}")


def config_problems(cfg: RunCfg) -> list[Problem]:
    """Every problem of ``cfg``, in config order (empty: the config is valid)."""
    problems: list[Problem] = []

    def check(key: str, fn: Callable[[], Any]) -> bool:
        try:
            fn()
        except UnknownNameError as exc:
            problems.append(Problem(exc.key or key, str(exc.at("")), exc))
            return False
        except ConfigError as exc:
            problems.append(Problem(key, str(exc)))
            return False
        return True

    if not cfg.task:
        problems.append(Problem("task", f"missing; expected a registered task ({', '.join(TASKS.list())})"))
    elif check("task", lambda: TASKS.check(cfg.task, "task")):
        check("task_args", lambda: from_dict(TASKS.get(cfg.task).Cfg, cfg.task_args, "task_args"))
    _check_dataset("data.train", cfg.data.train, problems, check, stream=False)
    if cfg.data.val is not None and (cfg.data.val.name or cfg.data.val.args):
        _check_dataset("data.val", cfg.data.val, problems, check, stream=False)
    for name, spec in cfg.data.extra.items():
        if not name or name == "train":
            problems.append(
                Problem(f"data.extra.{name}", "this stream name is reserved or empty; name it after its role")
            )
        _check_dataset(f"data.extra.{name}", spec, problems, check, stream=True)
    if cfg.eval:
        _check_eval(cfg.eval, problems, check)
    problems += _train_problems(cfg)
    for i, stage in enumerate(cfg.init):
        where = f"init[{i}]"
        if not stage.checkpoint:
            problems.append(Problem(f"{where}.checkpoint", "missing; expected another run's model.pt or last.pt"))
        elif not Path(stage.checkpoint).is_file():
            problems.append(Problem(f"{where}.checkpoint", f"{stage.checkpoint} does not exist; train that run first"))
        if not stage.module:
            problems.append(Problem(f"{where}.module", "missing; expected the dotted path of a submodule of the task"))
    return problems


def _check_dataset(
    key: str, spec: DataSpec, problems: list[Problem], check: Callable[..., bool], *, stream: bool
) -> None:
    if not spec.name:
        choices = ", ".join(DATASETS.list())
        problems.append(Problem(f"{key}.name", f"missing; expected a registered dataset ({choices})"))
        return
    if check(f"{key}.name", lambda: DATASETS.check(spec.name, f"{key}.name")):
        check(f"{key}.args", lambda: DATASETS.check_args(spec.name, spec.args))
    if not stream and spec.batch_size:
        problems.append(
            Problem(f"{key}.batch_size", f"{spec.batch_size}: a per-stream batch size is for data.extra streams; "
                    "set train.batch_size for the training set")
        )  # fmt: skip
    if stream and (isinstance(spec.batch_size, bool) or spec.batch_size < 0):
        problems.append(
            Problem(f"{key}.batch_size", f"got {spec.batch_size!r}; expected >= 1, or 0 for train.batch_size")
        )


def _check_eval(section: dict[str, Any], problems: list[Problem], check: Callable[..., bool]) -> None:
    args = dict(section)
    name = args.pop("protocol", None)
    if not name:
        choices = ", ".join(PROTOCOLS.list())
        problems.append(Problem("eval.protocol", f"missing; expected the name of an evaluation protocol ({choices})"))
        return
    if not check("eval.protocol", lambda: PROTOCOLS.check(name, "eval.protocol")):
        return
    check("eval", lambda: PROTOCOLS.check_args(name, args))
    data = args.get("data")
    if isinstance(data, dict) and "name" in data:  # the protocols' dataset contract: {"name", "args"}
        if check("eval.data.name", lambda: DATASETS.check(data["name"], "eval.data.name")):
            data_args = data.get("args") or {}
            if not isinstance(data_args, dict):
                problems.append(Problem("eval.data.args", f"expected a mapping, got {data_args!r}"))
            else:
                check("eval.data.args", lambda: DATASETS.check_args(data["name"], data_args))
    ks = args.get("ks")  # the protocols' Recall@K cut-offs
    if ks is not None and (not isinstance(ks, list | tuple) or not ks or not all(_positive_int(k) for k in ks)):
        problems.append(Problem("eval.ks", f"got {ks!r}; expected a list of integers >= 1 (e.g. [1, 5, 10])"))


def _positive_int(k: Any) -> bool:
    return isinstance(k, int) and not isinstance(k, bool) and k >= 1


def _train_problems(cfg: RunCfg) -> list[Problem]:
    t = cfg.train
    out: list[Problem] = []

    def need(key: str, ok: bool, expected: str) -> None:
        if not ok:
            out.append(Problem(f"train.{key}", f"got {getattr(t, key)!r}; expected {expected}"))

    for key in ("max_steps", "batch_size", "grad_accum", "log_every"):
        need(key, getattr(t, key) >= 1, "an integer >= 1")
    for key in ("warmup_steps", "step_every", "eval_every", "ckpt_every", "num_workers"):
        need(key, getattr(t, key) >= 0, "an integer >= 0")
    need("lr", math.isfinite(t.lr) and t.lr > 0, "a learning rate > 0 (e.g. 1e-3)")
    for key in ("momentum", "weight_decay", "backbone_lr_mult", "clip_grad"):
        need(key, math.isfinite(getattr(t, key)) and getattr(t, key) >= 0, "a number >= 0")
    need("step_gamma", math.isfinite(t.step_gamma) and t.step_gamma > 0, "a factor > 0 (e.g. 0.1)")
    need("ema_decay", 0 <= t.ema_decay < 1, "0 (off) or a decay in (0, 1), e.g. 0.999")
    betas = t.betas
    numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in betas)
    need(
        "betas",
        len(betas) == 2 and numbers and all(0 <= b < 1 for b in betas),
        "two numbers in [0, 1), e.g. [0.9, 0.999]",
    )
    for key, kind, choices, name in (
        ("optimizer", "optimizer", OPTIMIZERS, t.optimizer.lower()),
        ("scheduler", "scheduler", SCHEDULERS, t.scheduler),
        ("precision", "precision", PRECISIONS, t.precision),
    ):
        if name not in choices:
            exc = UnknownNameError(kind, getattr(t, key), choices)
            out.append(Problem(f"train.{key}", str(exc), exc))
    if t.scheduler == "step" and t.step_every < 1:
        out.append(Problem("train.step_every", f"got {t.step_every!r}; the step scheduler needs an interval >= 1"))
    for key in ("channels_last", "fused_optimizer"):  # engine/fast_paths.py reads them
        need(key, is_tristate(getattr(t, key)), "auto, true or false")
    if not _DEVICE.match(t.device):
        out.append(Problem("train.device", f"got {t.device!r}; expected auto, cpu, cuda or cuda:N"))
    elif t.device.startswith("cuda") and not torch.cuda.is_available():
        out.append(Problem("train.device", f"{t.device!r} but CUDA is not available here; use auto or cpu"))
    return out
