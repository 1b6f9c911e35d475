"""A resumable, DDP-aware sampler: the order is a pure function of (seed, epoch) and can start mid-epoch.

Resuming a killed run skips the batches already consumed without loading them, so a resumed run sees
exactly the data an uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    """Shuffles ``n`` indices per epoch, shards them over ranks, and can skip the first ``start`` samples.

    Args:
        n: dataset length.
        seed: run seed; epoch ``e`` uses the permutation drawn from ``(seed, e)``.
        shuffle: False keeps dataset order (evaluation).
        rank: this process's rank.
        world_size: number of processes; every rank gets ``ceil(n / world_size)`` indices (wrapped padding).
    """

    def __init__(self, n: int, *, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        if n <= 0:
            raise ValueError("cannot sample from an empty dataset")
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start = 0
        self.per_rank = math.ceil(n / world_size)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the epoch's permutation and skips the first ``start`` samples of this rank's shard."""
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        else:
            order = np.arange(self.n)
        total = self.per_rank * self.world_size
        order = np.resize(order, total)  # wrap-pad so every rank gets the same count
        shard = order[self.rank : total : self.world_size]
        return iter(shard[self.start :].tolist())

    def __len__(self) -> int:
        return self.per_rank - self.start
