"""Build and train a run from a ``RunCfg``: the one library function behind ``semspace train``.

Validates the whole config first (``engine/validate.py``: every registry name and value, before any data is
rendered or a model built), then seeds (so the model initialisation is reproducible), builds the training set by
registry name, builds the task (resolving data-dependent fields such as a vocabulary), the extra training streams
(``data.extra``), optionally the evaluation protocol, and hands all of it, with the pretrained stages of
``init``, to the ``Trainer``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from semspace.config import ConfigSource, DataSpec, RunCfg, to_dict
from semspace.data import create_dataset
from semspace.data.cache import CachedDataset
from semspace.data.transforms import attach_transform
from semspace.engine.distributed import cleanup
from semspace.engine.trainer import Trainer
from semspace.engine.validate import validate_config
from semspace.errors import ConfigError
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

    Example:
        >>> cfg = load_run_cfg("configs/align/world_2d_3d.yaml", ["train.max_steps=10"])
        >>> train(cfg, "runs/align")
    """
    validate_config(run_cfg, source)
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
        return trainer.fit(resume=resume)
    finally:
        cleanup()
