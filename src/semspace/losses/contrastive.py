"""Symmetric InfoNCE over paired features (CLIP; Radford et al. 2021, arXiv:2103.00020, Fig. 3 pseudo-code).

For a batch of N pairs (a_i, b_i) with unit-norm features and a learnable logit scale s = 1/T:
``L = ( CE(s * A B^T, I) + CE(s * B A^T, I) ) / 2``. Under DDP the other ranks' features join as negatives
(``all_gather_with_grad``); each rank's positives are its own slice of the gathered matrix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semspace.losses.distributed import all_gather_with_grad, rank
from semspace.losses.registry import LOSSES


@LOSSES.register("info_nce")
class InfoNceLoss(nn.Module):
    """Symmetric cross-entropy over the similarity matrix of paired features.

    Args:
        gather: gather features across ranks (ignored with one process).
    """

    def __init__(self, *, gather: bool = True) -> None:
        super().__init__()
        self.gather = gather

    def forward(self, a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor | float) -> torch.Tensor:
        if a.shape != b.shape or a.ndim != 2:
            raise ValueError(f"InfoNceLoss expects two (N, D) tensors of equal shape, got {a.shape} and {b.shape}")
        n = a.shape[0]
        all_a = all_gather_with_grad(a) if self.gather else a  # (W*N, D)
        all_b = all_gather_with_grad(b) if self.gather else b  # (W*N, D)
        offset = rank() * n if all_a.shape[0] != n else 0
        labels = torch.arange(n, device=a.device) + offset  # (N,) positives inside the gathered matrix
        logits_a = logit_scale * a @ all_b.T  # (N, W*N)
        logits_b = logit_scale * b @ all_a.T  # (N, W*N)
        return (F.cross_entropy(logits_a, labels) + F.cross_entropy(logits_b, labels)) / 2
