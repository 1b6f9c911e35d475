"""Caffe's ContrastiveLoss on paired features: CHTN's cross-modal transfer term at fc6 and fc7.

CHTN (Huang, Peng, Yuan, IJCAI 2017, Sec. 3.1; ``PKU-ICST-MIPL/CHTN_IJCAI2017/model.prototxt``, layers
``fc6_contrastive_loss`` / ``fc7_contrastive_loss``, ``loss_weight: 0.001`` each) ties the image and text
representations of each pair with Caffe's ``ContrastiveLoss`` (Hadsell, Chopra, LeCun, CVPR 2006, Eq. 4)::

    L = 1/(2N) sum_i [ y_i d_i^2 + (1 - y_i) max(margin - d_i, 0)^2 ],   d_i = ||a_i - b_i||_2

All of CHTN's training pairs are matched (y = 1), so the term reduces to ``1/(2N) sum_i ||a_i - b_i||^2``, the
default here (``similar=None``). Caffe's ``legacy_version`` (``max(margin - d^2, 0)``) is not used by CHTN.
"""

from __future__ import annotations

import torch
from torch import nn

from semspace.losses.registry import LOSSES


@LOSSES.register("paired_contrastive")
class PairedContrastiveLoss(nn.Module):
    """Caffe ``ContrastiveLoss`` of rows ``a`` and ``b`` ``(N, D)`` (module docstring).

    Args:
        margin: the margin of dissimilar pairs (Caffe's default 1.0).
    """

    def __init__(self, *, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, a: torch.Tensor, b: torch.Tensor, similar: torch.Tensor | None = None) -> torch.Tensor:
        if a.shape != b.shape or a.ndim != 2:
            raise ValueError(
                f"PairedContrastiveLoss expects two (N, D) tensors, got {tuple(a.shape)}, {tuple(b.shape)}"
            )
        d2 = (a - b).pow(2).sum(dim=1)  # (N,)
        if similar is None:
            return d2.sum() / (2 * a.shape[0])
        y = similar.to(d2.dtype)  # (N,) 1 = matched pair
        far = (self.margin - d2.clamp_min(1e-12).sqrt()).clamp_min(0).pow(2)  # (N,)
        return (y * d2 + (1 - y) * far).sum() / (2 * a.shape[0])
