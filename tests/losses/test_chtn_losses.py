"""CHTN's pairwise term (Caffe ContrastiveLoss) and DSCMR's objective, each against a direct formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from semspace.losses import create_loss


def test_paired_contrastive_matched_pairs_is_half_mean_squared_distance() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    expected = sum(float(((a[i] - b[i]) ** 2).sum()) for i in range(6)) / (2 * 6)
    assert float(create_loss("paired_contrastive")(a, b)) == pytest.approx(expected, rel=1e-6)


def test_paired_contrastive_dissimilar_pairs_use_the_margin() -> None:
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[0.3, 0.4], [3.0, 4.0]])  # distances 0.5 and 5
    sim = torch.tensor([0, 0])
    loss = create_loss("paired_contrastive", margin=1.0)(a, b, sim)
    assert float(loss) == pytest.approx(((1 - 0.5) ** 2 + 0.0) / 4, rel=1e-6)


def _direct_dscmr(u, v, pu, pv, y, c, alpha, beta):  # type: ignore[no-untyped-def]
    n = len(y)
    onehot = F.one_hot(y, c).double()
    j1 = sum(float((pu[i] - onehot[i]).norm()) for i in range(n)) / n
    j1 += sum(float((pv[i] - onehot[i]).norm()) for i in range(n)) / n

    def term(a, b):  # type: ignore[no-untyped-def]
        s = 0.0
        for i in range(n):
            for j in range(n):
                theta = float(a[i] @ b[j] / (a[i].norm() * b[j].norm())) / 2
                s += math.log(1 + math.exp(theta)) - float(y[i] == y[j]) * theta
        return s / (n * n)

    j2 = term(u, u) + term(u, v) + term(v, v)
    j3 = sum(float((u[i] - v[i]).norm()) for i in range(n)) / n
    return j1 + alpha * j2 + beta * j3


def test_dscmr_matches_direct_formula() -> None:
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    pu, pv = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    loss = create_loss("dscmr", alpha=0.5, beta=0.2)
    got = loss(u, v, pu, pv, y, output_dict=True)
    assert float(got["loss"]) == pytest.approx(_direct_dscmr(u, v, pu, pv, y, 3, 0.5, 0.2), rel=1e-6)
    assert set(got) == {"loss", "label_space", "common_space", "invariance"}
