"""Soft triplet loss (TIRG) against a naive triple loop: exact with every negative, and on the very triplets
the sampler drew; the sampler's own invariants; the label mask; gradients; guards."""

from __future__ import annotations

import math
import os

import pytest
import torch

from semspace.losses import SoftTripletLoss, create_loss
from semspace.losses.triplet import sample_negatives, valid_negatives

_ENV_DEVICE = os.environ.get("SEMSPACE_TEST_DEVICE", "cpu")
DEVICES = [pytest.param("cpu", id="cpu")]
if _ENV_DEVICE.startswith("cuda"):
    DEVICES.append(pytest.param(_ENV_DEVICE, id="cuda", marks=pytest.mark.gpu))
SEEDS = [0, 1, 2]


def _pairs(seed: int, n: int = 5, d: int = 4, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randn(n, d, generator=g, dtype=dtype)


def _all_triplets(n: int, labels: list[int] | None = None) -> list[tuple[int, int, int]]:
    """Every (anchor, positive, negative) of the 2N features, negatives of another label (naive loops)."""
    lab = list(range(n)) * 2 if labels is None else list(labels) * 2
    triplets = []
    for a in range(2 * n):
        p = a + n if a < n else a - n
        for k in range(2 * n):
            if lab[k] != lab[a]:
                triplets.append((a, p, k))
    return triplets


def _naive_loss(query: torch.Tensor, target: torch.Tensor, triplets: list[tuple[int, int, int]]) -> float:
    feats = query.tolist() + target.tolist()

    def sq(i: int, j: int) -> float:
        return sum((x - y) ** 2 for x, y in zip(feats[i], feats[j], strict=True))

    return sum(math.log1p(math.exp(sq(a, p) - sq(a, k))) for a, p, k in triplets) / len(triplets)


def _naive_torch_loss(query: torch.Tensor, target: torch.Tensor, triplets: list[tuple[int, int, int]]) -> torch.Tensor:
    feats = torch.cat([query, target])  # (2N, D)
    terms = [
        torch.log1p(torch.exp(((feats[a] - feats[p]) ** 2).sum() - ((feats[a] - feats[k]) ** 2).sum()))
        for a, p, k in triplets
    ]
    return torch.stack(terms).mean()


# ---- exact mode -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_all_negatives_matches_naive_loop(seed: int) -> None:
    query, target = _pairs(seed)
    loss = create_loss("soft_triplet", num_negatives=None)(query, target)
    assert float(loss) == pytest.approx(_naive_loss(query, target, _all_triplets(5)), rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_labels_are_never_negatives_of_each_other(seed: int) -> None:
    query, target = _pairs(seed, n=7)
    labels = torch.randint(0, 3, (7,), generator=torch.Generator().manual_seed(seed))
    triplets = _all_triplets(7, labels.tolist())
    loss = SoftTripletLoss(num_negatives=None)(query, target, labels=labels)
    assert float(loss) == pytest.approx(_naive_loss(query, target, triplets), rel=1e-10)
    unlabelled = SoftTripletLoss(num_negatives=None)(query, target)
    if len(set(labels.tolist())) < 7:  # some labels repeat, so the mask must change the loss
        assert float(unlabelled) != pytest.approx(float(loss), rel=1e-6)


def test_more_negatives_than_available_equals_exact_mode() -> None:
    query, target = _pairs(4, n=4)
    labels = torch.tensor([0, 1, 0, 2])
    exact = SoftTripletLoss(num_negatives=None)(query, target, labels=labels)
    sampled = SoftTripletLoss(num_negatives=100)(query, target, labels=labels, generator=torch.Generator())
    torch.testing.assert_close(sampled, exact)


def test_gradients_match_the_naive_loop_under_autograd() -> None:
    query, target = _pairs(5, n=4)
    q1, t1 = query.clone().requires_grad_(), target.clone().requires_grad_()
    q2, t2 = query.clone().requires_grad_(), target.clone().requires_grad_()
    SoftTripletLoss(num_negatives=None)(q1, t1).backward()
    _naive_torch_loss(q2, t2, _all_triplets(4)).backward()
    torch.testing.assert_close(q1.grad, q2.grad)
    torch.testing.assert_close(t1.grad, t2.grad)


# ---- sampled mode -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("use_labels", [False, True])
def test_sampled_loss_matches_naive_loop_over_the_drawn_triplets(seed: int, use_labels: bool) -> None:
    n = 6
    query, target = _pairs(seed, n=n)
    labels = torch.tensor([0, 1, 0, 2, 1, 3]) if use_labels else None
    loss = SoftTripletLoss()(query, target, labels=labels, generator=torch.Generator().manual_seed(seed))
    valid = valid_negatives(labels if labels is not None else torch.arange(n))
    idx, mask = sample_negatives(valid, 3, torch.Generator().manual_seed(seed))
    triplets = [(a, (a + n) % (2 * n), int(idx[a, j])) for a in range(2 * n) for j in range(idx.shape[1]) if mask[a, j]]
    assert len(triplets) == 2 * n * 3  # every anchor here has at least 3 valid negatives
    assert float(loss) == pytest.approx(_naive_loss(query, target, triplets), rel=1e-10)


def test_sampling_is_reproducible_from_the_generator() -> None:
    query, target = _pairs(0, n=8)
    loss_fn = SoftTripletLoss(num_negatives=2)
    first = loss_fn(query, target, generator=torch.Generator().manual_seed(7))
    again = loss_fn(query, target, generator=torch.Generator().manual_seed(7))
    others = {float(loss_fn(query, target, generator=torch.Generator().manual_seed(s))) for s in range(8, 14)}
    assert float(first) == float(again)
    assert len(others | {float(first)}) > 1


def test_sample_negatives_draws_distinct_valid_items_and_fewer_when_short() -> None:
    valid = valid_negatives(torch.tensor([0, 0, 0, 1, 2]))  # anchors of label 0 have 4 negatives, others 8
    idx, mask = sample_negatives(valid, 6, torch.Generator().manual_seed(0))
    assert idx.shape == mask.shape == (10, 6)
    for a in range(10):
        chosen = idx[a][mask[a]].tolist()
        assert len(chosen) == min(6, int(valid[a].sum()))
        assert len(set(chosen)) == len(chosen)
        assert all(valid[a, k] for k in chosen)


def test_sample_negatives_is_uniform_over_the_valid_negatives() -> None:
    valid = valid_negatives(torch.arange(5))  # every anchor: 8 valid negatives out of 10 items
    g = torch.Generator().manual_seed(0)
    draws, k = 400, 2
    counts = torch.zeros(10, 10)
    for _ in range(draws):
        idx, mask = sample_negatives(valid, k, g)
        assert mask.all()
        counts.scatter_add_(1, idx, torch.ones(idx.shape))
    freq = counts / draws  # (10, 10) how often each candidate was drawn per anchor
    assert (freq[~valid] == 0).all()
    expected = k / 8
    assert (freq[valid] - expected).abs().max() < 0.1  # binomial sd = sqrt(.25 * .75 / 400) ~ 0.022


# ---- sanity, devices, guards ------------------------------------------------------------------------
def test_aligned_pairs_give_a_lower_loss_and_training_lowers_it() -> None:
    query, _ = _pairs(1, n=8, dtype=torch.float32)
    loss_fn = SoftTripletLoss(num_negatives=None)
    assert loss_fn(query, query) < loss_fn(query, query.roll(1, 0))
    assert float(loss_fn(query, query)) < math.log(2)  # d(a, p) = 0 makes every term < softplus(0)
    q = torch.nn.Parameter(torch.randn(8, 4, generator=torch.Generator().manual_seed(2)))
    t = torch.nn.Parameter(torch.randn(8, 4, generator=torch.Generator().manual_seed(3)))
    opt = torch.optim.SGD([q, t], lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = SoftTripletLoss()(q, t, generator=torch.Generator().manual_seed(0))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("device", DEVICES)
def test_runs_on_the_features_device_with_a_cpu_generator(device: str) -> None:
    query, target = (t.float().to(device).requires_grad_() for t in _pairs(0, n=6))
    reference = SoftTripletLoss(num_negatives=None)(*(t.double().cpu() for t in (query, target)))
    exact = SoftTripletLoss(num_negatives=None)(query, target)
    assert exact.device.type == torch.device(device).type
    assert exact.item() == pytest.approx(reference.item(), rel=1e-4)
    sampled = SoftTripletLoss()(query, target, generator=torch.Generator().manual_seed(0))
    sampled.backward()
    assert query.grad is not None and torch.isfinite(query.grad).all()


@pytest.mark.parametrize(
    ("query", "target", "labels", "match"),
    [
        (torch.zeros(1, 4), torch.zeros(1, 4), None, "at least 2"),
        (torch.zeros(3, 4), torch.zeros(2, 4), None, "equal shape"),
        (torch.zeros(4), torch.zeros(4), None, "equal shape"),
        (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3), "integer tensor"),
        (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), "integer tensor"),
        (torch.zeros(3, 4), torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), "no valid negatives"),
    ],
)
def test_bad_inputs_raise_clear_errors(
    query: torch.Tensor, target: torch.Tensor, labels: torch.Tensor | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        SoftTripletLoss()(query, target, labels=labels)


@pytest.mark.parametrize("bad", [0, -1, True])
def test_bad_num_negatives_raise(bad: int) -> None:
    with pytest.raises(ValueError, match="num_negatives"):
        SoftTripletLoss(num_negatives=bad)
