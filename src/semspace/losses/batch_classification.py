"""Batch-based classification loss of TIRG (Vo et al., CVPR 2019, arXiv:1812.07119, Sec. 3.3; google/tirg
``img_text_composition_models.py::compute_batch_based_classification_loss_``), used there for Fashion200k.

Each composed query is classified among the N targets of its batch: ``logits = s * Q T^T`` (N, N) and the
loss is the cross-entropy with the diagonal as labels,

    L = -1/N sum_i log( exp(s q_i . t_i) / sum_j exp(s q_i . t_j) ).

The inputs are usually already scaled by TIRG's NormalizationLayer (``models.layers.L2Norm``), so ``s``
defaults to 1. Under DDP every rank's targets are classes (``all_gather_with_grad``), each rank's labels its own
slice of them: averaged over the ranks, the loss of one process with the global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semspace.losses.distributed import all_gather_with_grad, rank
from semspace.losses.registry import LOSSES


@LOSSES.register("batch_classification")
class BatchClassificationLoss(nn.Module):
    """Cross-entropy of each query against the batch of targets, its own target being the class.

    Args:
        scale: multiplies the logits (1.0: the inputs carry their own scale).
        gather: classify among the targets of every rank (ignored with one process).

    Example:
        >>> loss = BatchClassificationLoss()(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, *, scale: float = 1.0, gather: bool = True) -> None:
        super().__init__()
        self.scale, self.gather = float(scale), gather

    def forward(self, query: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the batch.

        Args:
            query: composed query features ``(N, D)``.
            target: their target features ``(N, D)``; row i is query i's class.

        Returns:
            Scalar loss.
        """
        if query.ndim != 2 or query.shape != target.shape:
            raise ValueError(
                f"BatchClassificationLoss expects query and target of equal shape (N, D), got {tuple(query.shape)} "
                f"and {tuple(target.shape)}"
            )
        n = query.shape[0]
        targets = all_gather_with_grad(target) if self.gather else target  # (W*N, D)
        offset = rank() * n if targets.shape[0] != n else 0
        logits = self.scale * query @ targets.T  # (N, W*N)
        labels = torch.arange(n, device=query.device) + offset  # (N,) the diagonal of this rank's slice
        return F.cross_entropy(logits, labels)
