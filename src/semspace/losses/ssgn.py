"""The losses of SSGN (Wang et al. 2019, ``papers/ssgn.md``) and its baselines, each written as a direct formula.

* ``FeatureRegressionLoss``: the regression loss that keeps generated photo features on real ones,
  ``L_reg = 1/B sum_b ||g_b - f_b||^2 / P`` (squared error, mean over the batch and the P dimensions; the mean
  over dimensions keeps its scale independent of the backbone's width);
* ``PrototypeClassificationLoss``: the classification loss that keeps them discriminative,
  ``L_cls = CE(s * cos(g, W), y)``, a cosine classifier over the seen classes with scale ``s`` (a cosine
  classifier, not a plain linear one, because retrieval ranks by cosine; the alternative is one flag away);
* ``GaussianKlLoss``: ``KL(N(mu, sigma^2) || N(0, I)) = 1/B sum_b 1/2 sum_j (mu^2 + sigma^2 - log sigma^2 - 1)``
  (the CVAE baseline, Yelamarthi et al. 2018, arXiv:1807.11724);
* ``LabelInfoNceLoss``: the direct shared-embedding baseline's loss, InfoNCE from sketches to photos where every
  photo of the sketch's class is a positive (supervised contrastive, Khosla et al. 2020, arXiv:2004.11362,
  one direction): ``L = -1/B sum_b 1/|P_b| sum_{p in P_b} log softmax_j(q_b . k_j / tau)_p``; under DDP the keys
  (and their labels) of every rank join (``all_gather_with_grad``), as one process with the global batch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from semspace.losses.distributed import all_gather_no_grad, all_gather_with_grad
from semspace.losses.registry import LOSSES


@LOSSES.register("feature_regression")
class FeatureRegressionLoss(nn.Module):
    """``mean((generated - target)^2)`` over batch and dimensions (module docstring).

    Example:
        >>> float(FeatureRegressionLoss()(torch.ones(2, 3), torch.zeros(2, 3)))
        1.0
    """

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if generated.shape != target.shape:
            raise ValueError(f"regression: generated {tuple(generated.shape)} vs target {tuple(target.shape)}")
        return (generated - target).pow(2).mean()


@LOSSES.register("prototype_classification")
class PrototypeClassificationLoss(nn.Module):
    """Cross-entropy of a cosine classifier ``s * cos(x, W_c)`` over C classes (module docstring).

    Args:
        dim: feature width.
        num_classes: number of classes C.
        scale: the logit scale s (0: a plain linear classifier ``x W^T + b`` instead).
    """

    def __init__(self, dim: int, num_classes: int, scale: float = 16.0) -> None:
        super().__init__()
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.randn(num_classes, dim) * dim**-0.5)  # (C, P)
        self.bias = nn.Parameter(torch.zeros(num_classes)) if scale <= 0 else None

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, P) -> (B, C)``."""
        if self.bias is not None:
            return F.linear(x, self.weight, self.bias)
        return self.scale * F.normalize(x, dim=-1) @ F.normalize(self.weight, dim=-1).T  # (B, C)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(x), labels)


@LOSSES.register("gaussian_kl")
class GaussianKlLoss(nn.Module):
    """``KL(N(mu, exp(logvar)) || N(0, I))``, summed over dimensions, mean over the batch."""

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1).mean()


@LOSSES.register("label_infonce")
class LabelInfoNceLoss(nn.Module):
    """Sketch -> photo InfoNCE with every same-class photo of the batch a positive (module docstring).

    Args:
        temperature: tau.
        gather: the keys of every rank (ignored with one process).
    """

    def __init__(self, temperature: float = 0.1, *, gather: bool = True) -> None:
        super().__init__()
        self.temperature, self.gather = float(temperature), gather

    def forward(self, query: torch.Tensor, keys: torch.Tensor, query_labels: torch.Tensor,
                key_labels: torch.Tensor) -> torch.Tensor:  # fmt: skip
        if self.gather:
            keys, key_labels = all_gather_with_grad(keys), all_gather_no_grad(key_labels)  # (W*N, D), (W*N,)
        q, k = F.normalize(query, dim=-1), F.normalize(keys, dim=-1)  # (B, D), (N, D)
        log_p = (q @ k.T / self.temperature).log_softmax(dim=1)  # (B, N)
        pos = (query_labels[:, None] == key_labels[None, :]).to(log_p.dtype)  # (B, N)
        n_pos = pos.sum(dim=1).clamp(min=1.0)  # (B,)
        return -((log_p * pos).sum(dim=1) / n_pos).mean()
