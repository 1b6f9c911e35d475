"""Build and train a run from a ``RunCfg``: the one library function behind ``semspace train``.

Validates the whole config first (``engine/validate.py``: every registry name and value, before any data is
rendered or a model built) and refuses to resume a run folder that holds a run of another model or data
(``check_resumable``, from its ``config.yaml``), then seeds (so the model initialisation is reproducible), builds
the training set by registry name, builds the task (resolving data-dependent fields such as a vocabulary), the
extra training streams (``data.extra``), optionally the evaluation protocol, and hands all of it, with the
pretrained stages of ``init``, to the ``Trainer``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from semspace.config import ConfigSource, DataSpec, RunCfg, to_dict
from semspace.data import create_dataset
from semspace.data.cache import CachedDataset
from semspace.data.transforms import attach_transform
from semspace.engine.checkpointing import config_diff, describe_diff
from semspace.engine.distributed import cleanup
from semspace.engine.trainer import Trainer
from semspace.engine.validate import validate_config
from semspace.errors import CheckpointError, ConfigError
from semspace.eval.record import write_evaluation
from semspace.registry import UnknownNameError
from semspace.tasks import Task, create_task
from semspace.utils.seed import seed_everything

log = logging.getLogger(__name__)


def build_evaluator(run_cfg: RunCfg) -> Any:
    """``fn(task) -> metrics`` from ``run_cfg.eval`` (``{"protocol": name, ...args}``), or None."""
    from semspace.eval.protocols.build import protocol_from_cfg

    return protocol_from_cfg(run_cfg.eval)


def build_task_and_data(run_cfg: RunCfg, *, progress: bool = False) -> tuple[Task, Any]:
    """The task of ``run_cfg`` and its training set: built by name, given the task's input transform (the inputs
    evaluation, the index and search will see) and cached in memory when ``data.train.cache`` is set.

    The extra training streams of ``data.extra`` are not built here: see ``build_task_and_datasets``."""
    spec = run_cfg.data.train
    if spec.batch_size:
        raise ConfigError(
            f"data.train.batch_size={spec.batch_size}: a per-stream batch size is for data.extra streams; "
            "set train.batch_size for the training set"
        )
    dataset = create_dataset(spec.name, **spec.args)
    task: Task = create_task(run_cfg.task, run_cfg.task_args, dataset)
    return task, _prepare_dataset(dataset, spec, task, run_cfg, progress=progress)


def build_task_and_datasets(run_cfg: RunCfg, *, progress: bool = False) -> tuple[Task, Any, dict[str, Any]]:
    """``build_task_and_data`` plus the extra training streams ``{name: dataset}`` of ``data.extra``, each built by
    name and prepared like the training set (the task's transform, the cache of its own ``cache`` flag)."""
    task, dataset = build_task_and_data(run_cfg, progress=progress)
    extra = {}
    for name, spec in run_cfg.data.extra.items():
        if not spec.name:
            raise ConfigError(f"data.extra.{name}.name is empty; expected a registered dataset (e.g. world_scenes)")
        if spec.batch_size < 0:
            raise ConfigError(
                f"data.extra.{name}.batch_size={spec.batch_size}; expected >= 1, or 0 for train.batch_size"
            )
        extra[name] = _prepare_dataset(create_dataset(spec.name, **spec.args), spec, task, run_cfg, progress=progress)
    return task, dataset, extra


def _prepare_dataset(dataset: Any, spec: DataSpec, task: Task, run_cfg: RunCfg, *, progress: bool) -> Any:
    """One training stream as the trainer reads it: with the task's input transform, cached when ``spec.cache``."""
    attach_transform(dataset, task.preprocess_cfg())
    if spec.cache:
        dataset = CachedDataset(dataset, num_workers=run_cfg.train.num_workers, progress=progress)
    return dataset


def check_resumable(run_cfg: RunCfg, run_dir: str | Path) -> None:
    """Refuses, before any data is rendered, to resume ``run_dir`` when its ``last.pt`` is a run of another model or
    data: its ``config.yaml`` differs from ``run_cfg`` in ``task``, a plain ``task_args`` value both set, or the name or
    arguments of a training stream (``data.train``, ``data.extra``). Other keys (``train``, ``eval``, ``init``,
    ``data.*.cache``) may change on a resume (the trainer warns); a folder without ``last.pt`` or a readable
    ``config.yaml`` is left to the trainer's own check of the checkpoint.

    Raises:
        CheckpointError: the folder holds another config's run; the message names the keys that differ.
    """
    run_dir = Path(run_dir)
    saved_path = run_dir / "config.yaml"
    if not (run_dir / "last.pt").is_file() or not saved_path.is_file():
        return
    try:
        saved = yaml.safe_load(saved_path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    if not isinstance(saved, dict):
        return
    new, saved_args = to_dict(run_cfg), saved.get("task_args") or {}
    args = {k for k, v in (new.get("task_args") or {}).items() if _plain(v) and _plain(saved_args.get(k))}
    changed = config_diff(_identity(saved, args), _identity(new, args))
    if changed:
        raise CheckpointError(
            f"{run_dir} holds a run of another config (last.pt): it differs in {describe_diff(changed)}. To start "
            f"fresh, use another run folder or remove {run_dir} (--no-resume overwrites it); to resume it, train "
            f"with the config it was trained with ({saved_path})"
        )


def _plain(value: Any) -> bool:
    """A ``task_args`` value both configs state alike: set, and no mapping (a saved run stores a resolved
    ``{"architecture", "cfg"}`` where its YAML named a preset)."""
    return value is not None and not isinstance(value, dict)


def _identity(cfg: dict[str, Any], task_args: set[str]) -> dict[str, Any]:
    """What a resolved config's model is and learns from: its task, the ``task_args`` keys given, and the name and
    arguments of every training stream."""
    data = cfg.get("data") or {}

    def stream(spec: Any) -> Any:
        return {"name": spec.get("name"), "args": spec.get("args")} if isinstance(spec, dict) else spec

    return {
        "task": cfg.get("task"),
        "task_args": {k: (cfg.get("task_args") or {})[k] for k in sorted(task_args)},
        "data": {
            "train": stream(data.get("train")),
            "extra": {k: stream(v) for k, v in (data.get("extra") or {}).items()},
        },
    }


def train(
    run_cfg: RunCfg,
    run_dir: str | Path,
    *,
    resume: bool = True,
    progress: bool = False,
    evaluate: bool = True,
    source: ConfigSource | None = None,
) -> dict[str, float]:
    """Trains the run described by ``run_cfg`` into ``run_dir``; returns the final metrics.

    Args:
        run_cfg: the run config.
        run_dir: the run folder (``config.yaml``, ``metrics.jsonl``, ``last.pt``, ``model.pt``, ``train.log``).
        resume: continue from ``run_dir/last.pt`` when it exists (it must hold the same model).
        progress: show a progress bar.
        evaluate: run the config's ``eval:`` protocol at the end (and every ``train.eval_every`` steps); False
            returns the last training averages instead.
        source: where ``run_cfg`` came from (YAML file, overrides), named in configuration errors.

    Raises:
        ConfigError: a problem of the config (all of them in one message), before any data is rendered.
        CheckpointError: ``resume`` and ``run_dir`` holds a run of another config (``check_resumable``), before any
            data is rendered.

    Example:
        >>> cfg = load_run_cfg("configs/align/world_2d_3d.yaml", ["train.max_steps=10"])
        >>> train(cfg, "runs/align")
    """
    validate_config(run_cfg, source)
    if resume:
        check_resumable(run_cfg, run_dir)
    seed_everything(run_cfg.train.seed)
    try:
        task, dataset, extra = build_task_and_datasets(run_cfg, progress=progress)
    except UnknownNameError as exc:  # a registry name inside task_args (composer, loss, ...), located by create_task
        if exc.key and source is not None:
            raise exc.at(source.describe(exc.key)) from None
        raise
    resolved = to_dict(run_cfg)
    resolved["task_args"] = task.export_cfg()
    trainer = Trainer(
        task,
        run_cfg.train,
        run_dir,
        dataset=dataset,
        evaluate=build_evaluator(run_cfg) if evaluate else None,
        run_cfg=resolved,
        progress=progress,
        extra_datasets=extra,
        extra_batch_sizes={name: spec.batch_size for name, spec in run_cfg.data.extra.items()},
        init=run_cfg.init,
    )
    try:
        metrics = trainer.fit(resume=resume)
    finally:
        cleanup()
    if evaluate and run_cfg.eval and trainer.dist.primary:  # the final evaluation, for `semspace eval` to reuse
        write_evaluation(run_dir, run_cfg.eval, metrics)
    return metrics
