"""The layers of CHTN above the shared image trunk: per-domain fc6/fc7 branches and the correlation head.

CHTN (Huang, Peng, Yuan, IJCAI 2017, "Cross-modal Hybrid Transfer Network", Sec. 3; authors' Caffe code
``PKU-ICST-MIPL/CHTN_IJCAI2017/model.prototxt``, recorded in ``papers/chtn.md``):

* ``ChtnBranch``: ``[BN] -> fc6 -> BN -> ReLU -> fc7 -> BN -> ReLU``, one per pathway with its own weights: source
  images (``fc6``/``fc7``), target images (``wiki_img_fc6``/``_fc7``), target text (``BN+Scale`` on the bag of words,
  then ``wiki_txt_fc6``/``_fc7``). Its forward returns every tap the losses read: ``fc6_bn`` / ``fc7_bn`` (after BN,
  before ReLU: the MMD inputs, ``fc6/bn`` in the prototxt) and ``fc6`` / ``fc7`` (after ReLU: the contrastive inputs
  and the input of the next layer).
* ``ChtnCorrelationHead``: the layer-sharing correlation subnetwork ``fc8 -> ReLU -> fc9 -> ReLU -> fc10 (C)``
  (``wiki_fc8``..``wiki_fc10``); with layer sharing one head serves both modalities (image and text fc7 are
  concatenated on the batch in the prototxt: the same weights), without it each modality has its own (ablation).
  The common representation is ``softmax(fc10)`` (``wiki_img_prob``, ``wiki_txt_prob``).

Widths are arguments (the paper: 4096 everywhere, C = number of target classes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from semspace.models.layers import Mlp


class ChtnBranch(nn.Module):
    """``(B, F) -> {fc6_bn, fc6, fc7_bn, fc7}`` (module docstring).

    Args:
        in_dim: input width F (trunk features, or the text encoder's output).
        widths: (fc6, fc7) widths (CHTN: 4096, 4096).
        input_norm: BatchNorm on the input (CHTN's ``BN + Scale`` on the bag-of-words text).
    """

    def __init__(self, in_dim: int, widths: Sequence[int] = (4096, 4096), *, input_norm: bool = False) -> None:
        super().__init__()
        w6, w7 = (int(w) for w in widths)
        self.input_norm: nn.Module = nn.BatchNorm1d(in_dim) if input_norm else nn.Identity()
        self.fc6, self.bn6 = nn.Linear(in_dim, w6), nn.BatchNorm1d(w6)
        self.fc7, self.bn7 = nn.Linear(w6, w7), nn.BatchNorm1d(w7)
        self.out_dim = w7

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h6 = self.bn6(self.fc6(self.input_norm(x)))  # (B, W6)
        a6 = F.relu(h6)  # (B, W6)
        h7 = self.bn7(self.fc7(a6))  # (B, W7)
        return {"fc6_bn": h6, "fc6": a6, "fc7_bn": h7, "fc7": F.relu(h7)}


class ChtnCorrelationHead(nn.Module):
    """``fc7 (B, W7) -> fc10 logits (B, C)`` through fc8 and fc9 with ReLU (module docstring).

    Args:
        in_dim: fc7 width.
        widths: (fc8, fc9) widths (CHTN: 4096, 4096).
        num_classes: C, the target classes.
    """

    def __init__(self, in_dim: int, widths: Sequence[int], num_classes: int) -> None:
        super().__init__()
        self.mlp = Mlp(in_dim, tuple(int(w) for w in widths), int(num_classes))

    def forward(self, fc7: torch.Tensor) -> torch.Tensor:
        return self.mlp(fc7)  # (B, C)
