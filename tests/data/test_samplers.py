"""Samplers: P x K structure, disjoint DDP shards over 2 simulated ranks, purity in (seed, epoch)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from semspace.data.samplers import ClassBalancedSampler, ShardSampler
from semspace.errors import ConfigError


def _imbalanced_labels() -> np.ndarray:
    """Class c has c + 1 items (c = 0..9), plus 5 unlabelled items (-1), shuffled."""
    lab = np.concatenate([np.full(c + 1, c) for c in range(10)] + [np.full(5, -1)])
    return np.random.default_rng(0).permutation(lab)


def test_batches_are_p_classes_times_k_samples() -> None:
    labels = _imbalanced_labels()
    s = ClassBalancedSampler(labels, classes_per_batch=4, samples_per_class=3, seed=1, num_batches=40)
    assert len(s) == 40 and s.batch_size == 12
    for batch in s:
        assert len(batch) == 12
        per_class = Counter(int(labels[i]) for i in batch)
        assert len(per_class) == 4 and set(per_class.values()) == {3}
        assert -1 not in per_class
        for c in per_class:
            members = [i for i in batch if labels[i] == c]
            if c + 1 >= 3:  # big enough: no repeats inside a batch
                assert len(set(members)) == 3


def test_classes_are_visited_evenly() -> None:
    labels = _imbalanced_labels()
    s = ClassBalancedSampler(labels, classes_per_batch=3, samples_per_class=2, seed=5, num_batches=50)
    counts = Counter(c for b in s for c in {int(labels[i]) for i in b})
    assert set(counts) == set(range(10))
    assert max(counts.values()) - min(counts.values()) <= 2  # 150 class slots over 10 classes: 15 each, +-1


def test_two_ranks_get_disjoint_shards_that_cover_the_epoch() -> None:
    labels = np.repeat(np.arange(4), 8)  # 4 classes x 8 items; P=4, K=2: one epoch uses every item once
    ranks = [ClassBalancedSampler(labels, 4, 2, seed=3, num_replicas=2, rank=r) for r in range(2)]
    for s in ranks:
        s.set_epoch(7)
    shards = [list(s) for s in ranks]
    assert len(shards[0]) == len(shards[1]) == len(ranks[0]) == 2
    glob = ranks[0].epoch_batches()
    assert shards[0] == glob[0::2] and shards[1] == glob[1::2]
    seen = [i for shard in shards for batch in shard for i in batch]
    assert sorted(seen) == list(range(32))  # disjoint and complete


def test_set_epoch_is_deterministic_and_changes_order() -> None:
    labels = _imbalanced_labels()
    a = ClassBalancedSampler(labels, 3, 2, seed=11)
    b = ClassBalancedSampler(labels, 3, 2, seed=11)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)  # pure in (seed, epoch)
    e2 = list(a)
    a.set_epoch(3)
    assert list(a) != e2
    a.set_epoch(2)
    assert list(a) == e2
    assert list(ClassBalancedSampler(labels, 3, 2, seed=12)) != list(ClassBalancedSampler(labels, 3, 2, seed=11))


def test_batch_count_rounds_to_ranks_and_validation() -> None:
    labels = np.repeat(np.arange(5), 5)  # 25 items, P*K = 4 -> 6 batches
    assert ClassBalancedSampler(labels, 2, 2, num_replicas=1, rank=0).num_batches == 6
    assert len(ClassBalancedSampler(labels, 2, 2, num_replicas=4, rank=3)) == 1  # 6 -> 4 batches, 1 each
    with pytest.raises(ConfigError, match="only 5 classes"):
        ClassBalancedSampler(labels, 6, 2)
    with pytest.raises(ConfigError, match="rank 2"):
        ClassBalancedSampler(labels, 2, 2, num_replicas=2, rank=2)
    with pytest.raises(ConfigError, match="1-D integer"):
        ClassBalancedSampler(np.zeros((3, 2), int), 1, 1)


def test_small_class_is_drawn_with_replacement_and_works_in_dataloader() -> None:
    labels = torch.tensor([0, 1, 1, 1, 1])
    s = ClassBalancedSampler(labels, 2, 3, seed=0, num_batches=3)
    data = list(range(5))
    loader = torch.utils.data.DataLoader(data, batch_sampler=s)  # type: ignore[arg-type]
    for batch in loader:
        assert batch.tolist().count(0) == 3 and len(batch) == 6


@pytest.mark.parametrize("n", [0, 1, 7, 8])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shard_sampler_covers_each_index(n: int, shuffle: bool) -> None:
    exact = [ShardSampler(n, shuffle=shuffle, seed=4, num_replicas=2, rank=r, pad=False) for r in range(2)]
    parts = [list(s) for s in exact]
    assert sorted(parts[0] + parts[1]) == list(range(n))
    assert [len(s) for s in exact] == [len(p) for p in parts]
    padded = [ShardSampler(n, shuffle=shuffle, seed=4, num_replicas=2, rank=r) for r in range(2)]
    pparts = [list(s) for s in padded]
    assert len(pparts[0]) == len(pparts[1]) == len(padded[0]) == -(-n // 2)
    assert set(pparts[0] + pparts[1]) == set(range(n))


def test_shard_sampler_epochs() -> None:
    s = ShardSampler(50, shuffle=True, seed=1, num_replicas=1, rank=0)
    e0 = list(s)
    s.set_epoch(1)
    assert list(s) != e0 and sorted(s) == list(range(50))
    s.set_epoch(0)
    assert list(s) == e0
    assert list(ShardSampler(5, num_replicas=1, rank=0)) == [0, 1, 2, 3, 4]


def test_shard_sampler_resumes_mid_epoch() -> None:
    from semspace.data.samplers import ShardSampler

    for rank in (0, 1):
        s = ShardSampler(11, shuffle=True, seed=4, num_replicas=2, rank=rank)
        s.set_epoch(3)
        full = list(s)
        s.set_epoch(3, start=4)
        assert list(s) == full[4:] and len(s) == len(full) - 4


def test_class_balanced_sampler_resumes_mid_epoch_on_every_rank() -> None:
    labels = np.repeat(np.arange(6), 10)  # 60 items; P*K = 6 -> 10 batches, 5 per rank
    for rank in (0, 1):
        s = ClassBalancedSampler(labels, 3, 2, seed=4, num_replicas=2, rank=rank)
        s.set_epoch(3)
        full = list(s)
        s.set_epoch(3, start=2 * 6)  # two batches (12 items) of this rank's shard already consumed
        assert list(s) == full[2:] and len(s) == len(full) - 2
        s.set_epoch(3, start=len(full) * 6)  # the epoch is used up
        assert list(s) == [] and len(s) == 0
    assert ClassBalancedSampler.yields_batches and not ShardSampler.yields_batches


def test_class_balanced_sampler_start_between_batches_is_an_error() -> None:
    s = ClassBalancedSampler(np.repeat(np.arange(4), 4), 2, 2)
    with pytest.raises(ConfigError, match=r"start=3 is not a multiple of the batch size 4 \(P=2 x K=2\)"):
        s.set_epoch(0, start=3)
