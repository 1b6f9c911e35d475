"""SSGN's losses against direct formulas written as loops (losses/ssgn.py)."""

from __future__ import annotations

import math

import torch

from semspace.losses.ssgn import FeatureRegressionLoss, GaussianKlLoss, LabelInfoNceLoss, PrototypeClassificationLoss


def test_regression_is_the_mean_squared_error() -> None:
    g, f = torch.randn(4, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    naive = sum(float((g[b, j] - f[b, j]) ** 2) for b in range(4) for j in range(5)) / 20
    assert math.isclose(float(FeatureRegressionLoss()(g, f)), naive, rel_tol=1e-12)


def test_cosine_classifier_cross_entropy() -> None:
    torch.manual_seed(0)
    loss = PrototypeClassificationLoss(6, 3, scale=10.0).double()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.tensor([0, 2, 1, 1, 0])
    w = loss.weight.detach()
    total = 0.0
    for b in range(5):
        cos = [float(x[b] @ w[c] / (x[b].norm() * w[c].norm())) for c in range(3)]
        logits = [10.0 * v for v in cos]
        total += -(logits[int(y[b])] - math.log(sum(math.exp(v) for v in logits)))
    assert math.isclose(float(loss(x, y).detach()), total / 5, rel_tol=1e-9)
    linear = PrototypeClassificationLoss(6, 3, scale=0.0).double()
    torch.testing.assert_close(linear.logits(x), x @ linear.weight.T + linear.bias)


def test_gaussian_kl() -> None:
    mu, logvar = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    naive = 0.0
    for b in range(3):
        for j in range(4):
            m, s2 = float(mu[b, j]), math.exp(float(logvar[b, j]))
            naive += 0.5 * (m * m + s2 - math.log(s2) - 1)  # KL(N(m, s2) || N(0, 1))
    assert math.isclose(float(GaussianKlLoss()(mu, logvar)), naive / 3, rel_tol=1e-9)
    assert float(GaussianKlLoss()(torch.zeros(2, 3), torch.zeros(2, 3))) == 0.0


def test_label_infonce_averages_over_every_same_class_key() -> None:
    q, k = torch.randn(3, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    ql, kl = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 0, 2, 1])
    tau, total = 0.5, 0.0
    for b in range(3):
        s = [float(q[b] @ k[j] / (q[b].norm() * k[j].norm())) / tau for j in range(5)]
        lse = math.log(sum(math.exp(v) for v in s))
        pos = [j for j in range(5) if kl[j] == ql[b]]
        total += -sum(s[j] - lse for j in pos) / len(pos)
    assert math.isclose(float(LabelInfoNceLoss(tau)(q, k, ql, kl)), total / 3, rel_tol=1e-9)
