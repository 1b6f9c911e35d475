"""Batch-based classification loss (TIRG) against a naive per-row log-softmax loop, with sanity checks."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

from semspace.losses import BatchClassificationLoss, create_loss

_ENV_DEVICE = os.environ.get("SEMSPACE_TEST_DEVICE", "cpu")
DEVICES = [pytest.param("cpu", id="cpu")]
if _ENV_DEVICE.startswith("cuda"):
    DEVICES.append(pytest.param(_ENV_DEVICE, id="cuda", marks=pytest.mark.gpu))


def _pairs(seed: int, n: int = 6, d: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


def _naive(query: torch.Tensor, target: torch.Tensor, scale: float) -> float:
    q, t = query.tolist(), target.tolist()
    total = 0.0
    for i in range(len(q)):
        logits = [scale * sum(a * b for a, b in zip(q[i], t[j], strict=True)) for j in range(len(t))]
        top = max(logits)
        log_z = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_z - logits[i]  # -log_softmax(row i)[i]
    return total / len(q)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_matches_naive_log_softmax_loop(seed: int, scale: float) -> None:
    query, target = _pairs(seed)
    loss = create_loss("batch_classification", scale=scale)(query, target)
    assert float(loss) == pytest.approx(_naive(query, target, scale), rel=1e-10)


def test_is_not_symmetric_in_query_and_target() -> None:
    query, target = _pairs(3)
    loss_fn = BatchClassificationLoss()
    assert float(loss_fn(target, query)) == pytest.approx(_naive(target, query, 1.0), rel=1e-10)
    assert float(loss_fn(query, target)) != pytest.approx(float(loss_fn(target, query)), rel=1e-6)


def test_aligned_pairs_give_a_lower_loss_than_shuffled_ones() -> None:
    query = 4.0 * F.normalize(torch.randn(8, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    loss_fn = BatchClassificationLoss()
    aligned, shuffled = loss_fn(query, query), loss_fn(query, query.roll(1, 0))
    assert aligned < math.log(8) < shuffled  # log(N) is the loss of uniform logits


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_flow_on_the_inputs_device(device: str) -> None:
    query, target = (t.float().to(device).requires_grad_() for t in _pairs(4))
    loss = BatchClassificationLoss(scale=2.0)(query, target)
    loss.backward()
    assert loss.device.type == torch.device(device).type
    assert loss.item() == pytest.approx(_naive(query.detach().cpu(), target.detach().cpu(), 2.0), rel=1e-4)
    for x in (query, target):
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize(("q_shape", "t_shape"), [((4, 3), (5, 3)), ((4, 3), (4, 2)), ((4,), (4,))])
def test_bad_shapes_raise(q_shape: tuple, t_shape: tuple) -> None:
    with pytest.raises(ValueError, match="equal shape"):
        BatchClassificationLoss()(torch.zeros(q_shape), torch.zeros(t_shape))
