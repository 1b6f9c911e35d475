"""Samplers that are pure functions of ``(seed, epoch, rank)`` and DDP-aware (STYLE D.16).

* ``ClassBalancedSampler``: a batch sampler of P x K batches (P classes, K samples each), the
  batch construction of metric learning (PML's ``MPerClassSampler``; the "PK" sampling of
  Hermans et al., "In Defense of the Triplet Loss", arXiv:1703.07737). Passing domain ids as
  ``labels`` makes it a domain-balanced sampler. Each epoch's batch list is generated once from
  ``rng_for(seed, epoch)`` and rank ``r`` takes batches ``r, r + R, r + 2R, ...``: the ranks get
  disjoint shards of the same list and the same number of steps.
* ``ShardSampler``: a plain index sampler (optionally shuffled) for DDP; unlike torch's
  ``DistributedSampler`` it can leave shards uneven (``pad=False``), so evaluation sees each item
  exactly once and scatters features back with the items' ``INDEX``.

Call ``set_epoch(epoch)`` before every epoch; the order changes deterministically. Both are training samplers
of the engine (a task picks one with ``Task.train_sampler``): ``set_epoch(epoch, start)`` also skips the first
``start`` items of this rank's shard of that epoch, so a resumed run continues mid-epoch exactly where it stopped.
``yields_batches`` tells the trainer whether the sampler yields lists of indices (``batch_sampler=``, with
``batch_size`` items each) or single indices (``sampler=``, batched by ``train.batch_size``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from typing import ClassVar

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from semspace.errors import ConfigError
from semspace.utils.seed import rng_for

logger = logging.getLogger(__name__)


def _dist_info(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """Explicit values win; otherwise the initialised process group; otherwise (1, 0)."""
    initialised = dist.is_available() and dist.is_initialized()
    n = num_replicas if num_replicas is not None else (dist.get_world_size() if initialised else 1)
    r = rank if rank is not None else (dist.get_rank() if initialised else 0)
    if n < 1 or not 0 <= r < n:
        raise ConfigError(f"sampler rank {r} is not in [0, num_replicas={n})")
    return n, r


class ClassBalancedSampler(Sampler[list[int]]):
    """Yields batches of ``classes_per_batch`` distinct classes x ``samples_per_class`` items.

    Use it as ``DataLoader(dataset, batch_sampler=sampler)`` (or return it from ``Task.train_sampler``: the
    trainer then draws these batches instead of ``train.batch_size`` ones). Classes are visited in a stream of
    random permutations, so every class appears about equally often; within a class, items are
    drawn without replacement until its list is used up (then reshuffled). A class with fewer than
    K items is sampled with replacement. Items with a negative label (unlabelled) are never drawn.

    Args:
        labels: one integer label per dataset item (class ids, or domain ids for domain balance).
        classes_per_batch: P, distinct classes in each batch.
        samples_per_class: K, items of each class in each batch.
        seed: base seed; the batches of an epoch depend only on ``(seed, epoch)``.
        num_replicas: number of DDP ranks (default: from the process group, else 1).
        rank: this process's rank (default: from the process group, else 0).
        num_batches: batches per epoch over all ranks (default: labelled items // (P * K)), rounded
            down to a multiple of ``num_replicas`` (at least ``num_replicas``).

    ``set_epoch(epoch, start)`` skips the first ``start`` items (``start / batch_size`` batches) of this rank's
    shard: a resumed run continues mid-epoch exactly where it stopped.
    """

    yields_batches: ClassVar[bool] = True  # lists of P * K indices (DataLoader batch_sampler=)

    def __init__(
        self,
        labels: Sequence[int] | np.ndarray | torch.Tensor,
        classes_per_batch: int,
        samples_per_class: int,
        *,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        num_batches: int | None = None,
    ) -> None:
        lab = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
        if lab.ndim != 1 or (lab.size and not np.issubdtype(lab.dtype, np.integer)):
            raise ConfigError(f"labels must be a 1-D integer sequence, got shape {lab.shape} and dtype {lab.dtype}")
        if classes_per_batch < 1 or samples_per_class < 1:
            raise ConfigError(f"classes_per_batch and samples_per_class must be >= 1, got {classes_per_batch}, "
                              f"{samples_per_class}")  # fmt: skip
        self.classes = np.unique(lab[lab >= 0])  # (C,)
        if classes_per_batch > len(self.classes):
            raise ConfigError(
                f"classes_per_batch={classes_per_batch} but the labels hold only {len(self.classes)} classes"
            )
        self._members = [np.flatnonzero(lab == c) for c in self.classes]  # C arrays of item indices
        self.p, self.k, self.seed = classes_per_batch, samples_per_class, int(seed)
        self.num_replicas, self.rank = _dist_info(num_replicas, rank)
        self.batch_size = self.p * self.k
        total = num_batches if num_batches is not None else int((lab >= 0).sum()) // self.batch_size
        self.num_batches = max(self.num_replicas, total - total % self.num_replicas)
        self.epoch = 0
        self.start = 0  # batches of this rank's shard to skip

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the epoch whose batches ``__iter__`` yields, from item ``start`` of this rank's shard.

        Raises:
            ConfigError: ``start`` is not a multiple of the batch size ``P * K`` (a position between batches).
        """
        if start < 0 or start % self.batch_size:
            raise ConfigError(
                f"ClassBalancedSampler.set_epoch: start={start} is not a multiple of the batch size "
                f"{self.batch_size} (P={self.p} x K={self.k}); resume from a checkpoint this sampler wrote"
            )
        self.epoch, self.start = int(epoch), int(start) // self.batch_size

    def __len__(self) -> int:
        return max(0, self.num_batches // self.num_replicas - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.epoch_batches()[self.rank :: self.num_replicas][self.start :]

    def epoch_batches(self) -> list[list[int]]:
        """All ranks' batches of the current epoch, in global order (rank r takes every R-th one)."""
        rng = rng_for(self.seed, self.epoch)
        n_cls = len(self.classes)
        stream: deque[int] = deque()
        pools = [rng.permutation(m) for m in self._members]
        cursor = [0] * n_cls
        batches: list[list[int]] = []
        for _ in range(self.num_batches):
            chosen: list[int] = []
            deferred: list[int] = []
            while len(chosen) < self.p:
                if not stream:
                    stream.extend(int(c) for c in rng.permutation(n_cls))
                c = stream.popleft()
                (deferred if c in chosen else chosen).append(c)
            stream.extendleft(reversed(deferred))  # repeats across a permutation boundary wait for the next batch
            batch: list[int] = []
            for c in chosen:
                members = self._members[c]
                if len(members) < self.k:
                    batch.extend(int(i) for i in rng.choice(members, self.k, replace=True))
                    continue
                if cursor[c] + self.k > len(members):
                    pools[c], cursor[c] = rng.permutation(members), 0
                batch.extend(int(i) for i in pools[c][cursor[c] : cursor[c] + self.k])
                cursor[c] += self.k
            batches.append(batch)
        return batches


class ShardSampler(Sampler[int]):
    """Each rank's share of ``range(num_samples)``, optionally shuffled per epoch.

    Args:
        num_samples: the dataset length.
        shuffle: permute the indices with ``rng_for(seed, epoch)`` (the same permutation on every rank).
        seed: base seed.
        num_replicas: number of DDP ranks (default: from the process group, else 1).
        rank: this process's rank (default: from the process group, else 0).
        pad: repeat the first indices so every rank gets the same count (training); ``False`` leaves
            the shards uneven and covers every index exactly once (evaluation).

    ``set_epoch(epoch, start)`` also skips the first ``start`` indices of this rank's shard: a resumed run
    continues mid-epoch exactly where it stopped, without loading the skipped items.
    """

    yields_batches: ClassVar[bool] = False  # single indices (DataLoader sampler=)

    def __init__(
        self,
        num_samples: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        pad: bool = True,
    ) -> None:
        if num_samples < 0:
            raise ConfigError(f"num_samples must be >= 0, got {num_samples}")
        self.num_samples, self.shuffle, self.seed, self.pad = int(num_samples), shuffle, int(seed), pad
        self.num_replicas, self.rank = _dist_info(num_replicas, rank)
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the epoch whose order ``__iter__`` yields, from position ``start`` of this rank's shard."""
        self.epoch, self.start = int(epoch), int(start)

    def _indices(self) -> np.ndarray:
        order = rng_for(self.seed, self.epoch).permutation(self.num_samples) if self.shuffle else None
        idx = order if order is not None else np.arange(self.num_samples)  # (N,)
        if self.pad and self.num_samples:
            total = -(-self.num_samples // self.num_replicas) * self.num_replicas
            idx = np.resize(idx, total)  # np.resize repeats from the start: (R * ceil(N / R),)
        return idx[self.rank :: self.num_replicas][self.start :]

    def __iter__(self) -> Iterator[int]:
        return iter(int(i) for i in self._indices())

    def __len__(self) -> int:
        if self.pad:
            return max(0, -(-self.num_samples // self.num_replicas) - self.start)
        return max(0, len(range(self.rank, self.num_samples, self.num_replicas)) - self.start)
