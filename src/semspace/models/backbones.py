"""Small backbones trained from scratch, with timm's backbone contract (STYLE B.7).

* ``forward_features(x)``: ``(B, C_in, H, W) -> (B, num_features, h, w)`` feature maps;
* ``forward_head(x, pre_logits=False)``: global average pooling to ``(B, num_features)``; with
  ``pre_logits=False`` and a classifier (``num_classes > 0``) the class logits;
* ``reset_classifier(num_classes)``: replaces the classifier (0 removes it);
* ``forward_intermediates(x)``: every stage's output, for multi-layer feature fusion (SSGN, Wang, Deng, Xu et al. 2019,
  "Stacked Semantic-Guided Network for Zero-Shot Sketch-Based Image Retrieval": intermediate CNN features
  counter the sparsity of sketches);
* ``lock_groups()``: the stages, from input to output, for ``BaseEncoder.lock``.

The small CNN is a plain VGG-style stack of conv-BN-ReLU stages (a design choice: small, fast on 2 CPU cores,
and enough for the world's 32-128 px views), not a paper's architecture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models.layers import ConvBnAct


class SmallCnnBackbone(nn.Module):
    """Stages of ``depth`` conv-BN-act units; a stage's first unit has the stage's stride.

    Args:
        in_chans: input channels (1 or 3).
        widths: output channels of each stage.
        depths: conv-BN-act units per stage.
        strides: stride of each stage's first unit (2 halves h and w).
        act: activation name.
        num_classes: size of an optional linear classifier on the pooled features (0: none).
    """

    def __init__(
        self,
        in_chans: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (1, 1, 2, 2),
        strides: Sequence[int] = (2, 2, 2, 2),
        act: str = "relu",
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        if not (len(widths) == len(depths) == len(strides)) or not widths:
            raise ConfigError(
                f"small CNN: widths, depths and strides need one entry per stage, got {list(widths)}, "
                f"{list(depths)}, {list(strides)}"
            )
        if min(widths) <= 0 or min(depths) <= 0 or min(strides) <= 0:
            raise ConfigError(f"small CNN: widths/depths/strides must be positive, got {widths}, {depths}, {strides}")
        stages: list[nn.Module] = []
        prev = in_chans
        for width, depth, stride in zip(widths, depths, strides, strict=True):
            units = [ConvBnAct(prev, width, 3, stride=stride, act=act)]
            units += [ConvBnAct(width, width, 3, act=act) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*units))
            prev = width
        self.stages = nn.ModuleList(stages)
        self.feature_info = [{"num_chs": w, "reduction": math.prod(strides[: i + 1])} for i, w in enumerate(widths)]
        self.num_features = prev
        self.num_classes = 0
        self.head: nn.Module = nn.Identity()
        self.reset_classifier(num_classes)

    def forward_intermediates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's output: ``[(B, C_i, h_i, w_i)]`` with ``C_i = widths[i]``."""
        outs = []
        for stage in self.stages:
            x = stage(x)  # (B, C_i, h_i, w_i)
            outs.append(x)
        return outs

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x  # (B, C, h, w)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean(dim=(2, 3))  # (B, C) global average pooling
        return x if pre_logits else self.head(x)  # (B, C) or (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int = 0) -> None:
        """Replaces the classifier with a fresh ``Linear(num_features, num_classes)`` (0: identity)."""
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def lock_groups(self) -> list[nn.Module]:
        return list(self.stages)
