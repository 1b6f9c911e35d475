"""MMD (CHTN's single-modal transfer term) against a direct O(n^2) double loop."""

from __future__ import annotations

import math

import pytest
import torch

from semspace.losses import create_loss
from semspace.losses.mmd import MmdLoss


def _direct_mmd(x: torch.Tensor, y: torch.Tensor, kernel_num: int = 1, kernel_mul: float = 2.0) -> float:
    """The biased MMD^2 with a data-driven bandwidth, written out pair by pair."""
    z = [list(map(float, r)) for r in torch.cat([x, y])]
    n_all = len(z)

    def d2(a: list[float], b: list[float]) -> float:
        return sum((p - q) ** 2 for p, q in zip(a, b, strict=True))

    total = sum(d2(z[i], z[j]) for i in range(n_all) for j in range(n_all) if i != j)
    sigma2 = total / (n_all * n_all - n_all) / kernel_mul ** (kernel_num // 2)

    def k(a: list[float], b: list[float]) -> float:
        return sum(math.exp(-d2(a, b) / (sigma2 * kernel_mul**q)) for q in range(kernel_num))

    xs, ys = z[: len(x)], z[len(x) :]
    kxx = sum(k(a, b) for a in xs for b in xs) / len(xs) ** 2
    kyy = sum(k(a, b) for a in ys for b in ys) / len(ys) ** 2
    kxy = sum(k(a, b) for a in xs for b in ys) / (len(xs) * len(ys))
    return kxx + kyy - 2 * kxy


@pytest.mark.parametrize("kernel_num", [1, 3])
def test_mmd_matches_direct_formula(kernel_num: int) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 5, generator=g, dtype=torch.float64)
    y = torch.randn(5, 5, generator=g, dtype=torch.float64) * 1.5 + 0.7
    got = float(MmdLoss(kernel_num=kernel_num)(x, y))
    assert got == pytest.approx(_direct_mmd(x, y, kernel_num), rel=1e-5, abs=1e-6)


def test_mmd_zero_for_identical_samples_and_grows_with_shift() -> None:
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    loss = create_loss("mmd")
    assert float(loss(x, x.clone())) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(x, x + 0.5)) < float(loss(x, x + 3.0))


def test_mmd_gradient_moves_target_towards_source() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(12, 3, generator=g)
    y = (torch.randn(12, 3, generator=g) + 2.0).requires_grad_(True)
    loss = MmdLoss()
    before = float(loss(x, y.detach()))
    opt = torch.optim.SGD([y], lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        loss(x, y).backward()
        opt.step()
    assert float(loss(x, y.detach())) < before


def test_mmd_fixed_bandwidth_and_bad_shapes() -> None:
    x, y = torch.randn(4, 2), torch.randn(3, 2)
    assert torch.isfinite(MmdLoss(bandwidth=1.0)(x, y))
    with pytest.raises(ValueError, match="samples"):
        MmdLoss()(x, torch.randn(3, 5))
