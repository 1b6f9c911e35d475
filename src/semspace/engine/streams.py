"""The training data streams of a run: several named datasets drawn in every step, each resumable mid-epoch.

A run reads its main dataset (``data.train``, stream ``"train"``) and any number of extra streams
(``data.extra.<name>``) in every step and every micro-batch; the step batch is the main stream's batch with each
extra stream's batch under its name (``batch["source"] = {...}``). Each stream has its own sampler, batch size,
epoch and position:

* the sampler is the task's ``Task.train_sampler(dataset, *, stream, seed, num_replicas, rank)`` (None: a shuffled
  ``ShardSampler`` batched by the stream's batch size; a batch sampler such as ``ClassBalancedSampler`` draws its
  own P x K batches and sets the batch size);
* every sampler order is a pure function of (seed, epoch), and ``set_epoch(epoch, start=consumed)`` skips what a
  killed run already consumed, so a stream's position is two integers, ``(epoch, consumed)``, which ``last.pt``
  stores (``engine/checkpointing.py``) and a resume sets back;
* an extra stream's seed differs from the main one's (``stream_seed``), so equal-length sets get different orders.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from semspace.data.samplers import ShardSampler
from semspace.errors import ConfigError, SemspaceError
from semspace.tasks.base import Task

__all__ = ["MAIN_STREAM", "DataStream", "build_streams", "check_extra_streams", "step_batches", "stream_seed"]

MAIN_STREAM = "train"  # the stream name of the main dataset (``data.train``) in ``Task.train_sampler``

Collate = Callable[[list[dict[str, Any]]], dict[str, Any]]


class DataStream:
    """One training data stream: its dataset, sampler, per-process batch size and position (epoch, consumed)."""

    def __init__(self, name: str, dataset: Dataset, sampler: Any, batch_size: int, seed: int) -> None:
        self.name, self.dataset, self.sampler, self.batch_size, self.seed = name, dataset, sampler, batch_size, seed
        self.epoch = 0
        self.consumed = 0  # items of the current epoch already consumed by this rank

    def batches(self, *, collate_fn: Collate, num_workers: int, pin_memory: bool) -> Iterator[dict[str, Any]]:
        """Endless batches of this stream; crosses epoch boundaries and keeps (epoch, consumed) for resume.

        In-memory datasets (``CachedDataset``) are read in the main process: forking workers that copy nothing
        new would cost seconds per epoch.
        """
        while True:
            self.sampler.set_epoch(self.epoch, start=self.consumed)
            if getattr(self.sampler, "yields_batches", False):
                batching: dict[str, Any] = {"batch_sampler": self.sampler}
            else:
                batching = {"batch_size": self.batch_size, "sampler": self.sampler, "drop_last": True}
            loader = DataLoader(
                self.dataset,
                **batching,
                num_workers=0 if getattr(self.dataset, "in_memory", False) else num_workers,
                collate_fn=collate_fn,
                pin_memory=pin_memory,
                # its own generator: starting an iterator must not consume the global RNG (exact resume)
                generator=torch.Generator().manual_seed(self.seed * 1000 + self.epoch),
            )
            for batch in loader:
                self.consumed += self.batch_size
                yield batch
            self.epoch, self.consumed = self.epoch + 1, 0


def check_extra_streams(extra_datasets: dict[str, Dataset], extra_batch_sizes: dict[str, int]) -> None:
    """Raises a ``ConfigError`` for a reserved or empty extra stream name, or a batch size of no extra stream."""
    for name in extra_datasets:
        if not name or name == MAIN_STREAM:
            raise ConfigError(f"data.extra stream name {name!r} is reserved or empty; name it after its role")
    unknown = sorted(set(extra_batch_sizes) - set(extra_datasets))
    if unknown:
        raise ConfigError(f"extra_batch_sizes names {unknown}, which are not extra_datasets streams")


def build_streams(
    task: Task,
    dataset: Dataset,
    extra_datasets: dict[str, Dataset],
    extra_batch_sizes: dict[str, int],
    *,
    batch_size: int,
    seed: int,
    num_replicas: int,
    rank: int,
) -> dict[str, DataStream]:
    """Every stream of a run, checked: ``MAIN_STREAM`` first (``batch_size``, ``seed``), then the extra streams
    (their ``extra_batch_sizes``, missing or 0: ``batch_size``; seeds from ``stream_seed``)."""
    streams = {MAIN_STREAM: _build_stream(task, MAIN_STREAM, dataset, batch_size, seed, num_replicas, rank)}
    for name, ds in extra_datasets.items():
        size = extra_batch_sizes.get(name) or batch_size
        streams[name] = _build_stream(task, name, ds, size, stream_seed(seed, name), num_replicas, rank)
    return streams


def step_batches(
    streams: dict[str, DataStream], *, collate_fn: Collate, num_workers: int, pin_memory: bool
) -> Iterator[dict[str, Any]]:
    """Endless step batches: the main stream's batch, with each extra stream's batch under its name.

    A step batch is ``{key: (B, ...), name: {key: (B_name, ...)}, ...}``: ``B`` is the main stream's per-process batch
    size, ``B_name`` the extra stream ``name``'s.
    """
    extra = {
        n: s.batches(collate_fn=collate_fn, num_workers=num_workers, pin_memory=pin_memory) for n, s in streams.items()
    }
    main = extra.pop(MAIN_STREAM)  # the others, in their order, are the extra streams
    while True:
        batch = next(main)
        for name, it in extra.items():
            if name in batch:
                raise ConfigError(
                    f"data.extra stream {name!r} has the name of a key of the data.train batch; rename the stream"
                )
            batch[name] = next(it)
        yield batch


def stream_seed(seed: int, name: str) -> int:
    """An extra stream's sampler seed: differs from the main one's (equal-length sets get different orders)."""
    return (int(seed) + zlib.crc32(name.encode())) % 2**31


def _build_stream(
    task: Task, name: str, dataset: Dataset, batch_size: int, seed: int, num_replicas: int, rank: int
) -> DataStream:
    """One stream with the task's ``train_sampler`` (or a shuffled ``ShardSampler``), checked."""
    n_items = len(dataset)  # type: ignore[arg-type]
    where = "dataset" if name == MAIN_STREAM else f"data.extra.{name}"
    sampler: Any = task.train_sampler(dataset, stream=name, seed=seed, num_replicas=num_replicas, rank=rank)
    if sampler is None:
        sampler = ShardSampler(n_items, shuffle=True, seed=seed, num_replicas=num_replicas, rank=rank)
    else:
        _check_sampler(sampler, task.name, name)
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
    return DataStream(name, dataset, sampler, batch_size, seed)


def _check_sampler(sampler: Any, task: str, stream: str) -> None:
    """A sampler of ``Task.train_sampler`` must resume mid-epoch (``set_epoch(epoch, start)``) and, when it yields
    batches, say their size."""
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
