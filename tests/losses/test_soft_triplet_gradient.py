"""Deviation (d) from the authors' TIRG code: the soft-triplet gradient.

google/tirg ``torch_functions.py::MyTripletLossFunc`` computes the loss of TIRG's soft triplet (the mean over
triplets (i, j, k) of ``log(1 + exp(d_ij - d_ik))`` with ``d`` the *squared* Euclidean distance, from
``pairwise_distances``) and its own numpy ``backward``: for each triplet, with ``f = sigmoid(d_ij - d_ik)`` and
T triplets,

    grad[i] += f (x_i - x_j) / T      grad[j] += f (x_j - x_i) / T
    grad[i] -= f (x_i - x_k) / T      grad[k] -= f (x_k - x_i) / T

But ``d/dx_i ||x_i - x_j||^2 = 2 (x_i - x_j)``: that backward is **half** of the loss's true gradient.
``SoftTripletLoss`` is differentiated by autograd, so it returns the true gradient: twice the authors'. The
forward values are the same. This file re-implements the authors' backward (from the recorded formula, in our
own code) for tiny batches and checks ``ours == 2 x theirs``, on every triplet and on the 3-per-anchor sample
the loss draws, and what that means under plain SGD: the authors' update at lr equals ours at lr / 2 (with
their L2 weight decay doubled).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semspace.losses import SoftTripletLoss
from semspace.losses.triplet import sample_negatives, valid_negatives

SEEDS = [0, 1, 2]


def _pairs(seed: int, n: int, d: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


def _all_triplets(n: int) -> list[tuple[int, int, int]]:
    """Every (anchor, its pair, a non-pair) of the 2N features: what ``num_negatives=None`` averages over."""
    return [(a, (a + n) % (2 * n), k) for a in range(2 * n) for k in range(2 * n) if k % n != a % n]


def _drawn_triplets(n: int, seed: int, num_negatives: int = 3) -> list[tuple[int, int, int]]:
    """The triplets ``SoftTripletLoss(num_negatives)`` draws with ``torch.Generator().manual_seed(seed)``."""
    idx, mask = sample_negatives(valid_negatives(torch.arange(n)), num_negatives, torch.Generator().manual_seed(seed))
    return [(a, (a + n) % (2 * n), int(idx[a, s])) for a in range(2 * n) for s in range(idx.shape[1]) if mask[a, s]]


def _authors_forward(feats: np.ndarray, triplets: list[tuple[int, int, int]]) -> float:
    """The authors' loss: squared distances clamped at 0, mean of log(1 + exp(d_ij - d_ik)) over the triplets."""
    sq = (feats**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * feats @ feats.T, 0.0)
    return float(np.mean([np.log1p(np.exp(dist[i, j] - dist[i, k])) for i, j, k in triplets]))


def _authors_backward(feats: np.ndarray, triplets: list[tuple[int, int, int]], grad_output: float = 1.0) -> np.ndarray:
    """The authors' hand-written gradient of ``_authors_forward`` with respect to ``feats`` (2N, D)."""
    sq = (feats**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * feats @ feats.T, 0.0)
    grad = np.zeros_like(feats)
    count = len(triplets)
    for i, j, k in triplets:
        f = 1.0 - 1.0 / (1.0 + np.exp(dist[i, j] - dist[i, k]))  # sigmoid(d_ij - d_ik)
        grad[i] += f * (feats[i] - feats[j]) / count
        grad[j] += f * (feats[j] - feats[i]) / count
        grad[i] -= f * (feats[i] - feats[k]) / count
        grad[k] -= f * (feats[k] - feats[i]) / count
    return grad * grad_output


class _AuthorsTripletLoss(torch.autograd.Function):
    """The authors' loss as an autograd function: their forward, their backward (for the SGD comparison)."""

    @staticmethod
    def forward(ctx, feats: torch.Tensor, triplets: list[tuple[int, int, int]]) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(feats)
        ctx.triplets = triplets
        return feats.new_tensor(_authors_forward(feats.detach().numpy(), triplets))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (feats,) = ctx.saved_tensors
        grad = _authors_backward(feats.detach().numpy(), ctx.triplets, float(grad_output))
        return torch.from_numpy(grad).to(feats), None


def _our_grad(query: torch.Tensor, target: torch.Tensor, loss_fn: SoftTripletLoss, **kw: object) -> tuple:
    q, t = query.clone().requires_grad_(), target.clone().requires_grad_()
    loss = loss_fn(q, t, **kw)
    loss.backward()
    assert q.grad is not None and t.grad is not None
    return loss.item(), torch.cat([q.grad, t.grad]).numpy()


@pytest.mark.parametrize("seed", SEEDS)
def test_ours_is_twice_the_authors_gradient_on_every_triplet(seed: int) -> None:
    n = 4
    query, target = _pairs(seed, n)
    feats = torch.cat([query, target]).numpy()
    triplets = _all_triplets(n)
    loss, ours = _our_grad(query, target, SoftTripletLoss(num_negatives=None))
    theirs = _authors_backward(feats, triplets)
    assert loss == pytest.approx(_authors_forward(feats, triplets), rel=1e-12)  # same loss value
    np.testing.assert_allclose(ours, 2.0 * theirs, rtol=1e-10, atol=1e-12)
    assert np.abs(ours - theirs).max() > 0.1 * np.abs(ours).max()  # not equal: the factor is real


@pytest.mark.parametrize("seed", SEEDS)
def test_ours_is_twice_the_authors_gradient_on_the_drawn_triplets(seed: int) -> None:
    n = 5
    query, target = _pairs(seed, n)
    feats = torch.cat([query, target]).numpy()
    triplets = _drawn_triplets(n, seed)  # 3 negatives per anchor, as the authors draw
    assert len(triplets) == 2 * n * 3
    loss, ours = _our_grad(query, target, SoftTripletLoss(), generator=torch.Generator().manual_seed(seed))
    theirs = _authors_backward(feats, triplets)
    assert loss == pytest.approx(_authors_forward(feats, triplets), rel=1e-12)
    np.testing.assert_allclose(ours, 2.0 * theirs, rtol=1e-10, atol=1e-12)


def test_the_authors_backward_is_not_the_derivative_of_their_forward() -> None:
    """Finite differences of the authors' own forward agree with ours, not with their backward."""
    n = 3
    query, target = _pairs(7, n)
    feats = torch.cat([query, target]).numpy()
    triplets = _all_triplets(n)
    eps = 1e-6
    numeric = np.zeros_like(feats)
    for idx in np.ndindex(*feats.shape):
        up, down = feats.copy(), feats.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (_authors_forward(up, triplets) - _authors_forward(down, triplets)) / (2 * eps)
    _, ours = _our_grad(query, target, SoftTripletLoss(num_negatives=None))
    np.testing.assert_allclose(numeric, ours, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(numeric, 2.0 * _authors_backward(feats, triplets), rtol=1e-5, atol=1e-8)


def test_under_sgd_the_authors_lr_equals_ours_halved_with_decay_doubled() -> None:
    """SGD + L2 decay: lr (g / 2 + wd w) = (lr / 2)(g + 2 wd w), so their run at (lr, wd) is ours at (lr/2, 2 wd)."""
    n, lr, wd, steps = 4, 1e-2, 1e-6, 5
    query, target = _pairs(3, n)
    triplets = _all_triplets(n)
    theirs = torch.nn.Parameter(torch.cat([query, target]))
    ours_q, ours_t = torch.nn.Parameter(query.clone()), torch.nn.Parameter(target.clone())
    opt_theirs = torch.optim.SGD([theirs], lr=lr, momentum=0.9, weight_decay=wd)
    opt_ours = torch.optim.SGD([ours_q, ours_t], lr=lr / 2, momentum=0.9, weight_decay=2 * wd)
    loss_fn = SoftTripletLoss(num_negatives=None)
    for _ in range(steps):
        opt_theirs.zero_grad()
        _AuthorsTripletLoss.apply(theirs, triplets).backward()
        opt_theirs.step()
        opt_ours.zero_grad()
        loss_fn(ours_q, ours_t).backward()
        opt_ours.step()
    torch.testing.assert_close(theirs.detach(), torch.cat([ours_q, ours_t]).detach(), rtol=1e-10, atol=1e-12)
