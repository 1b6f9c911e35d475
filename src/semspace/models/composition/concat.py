"""Concatenation composer: TIRG's ``Concat`` baseline (Vo et al., CVPR 2019, arXiv:1812.07119, Sec. 4).

An MLP on ``[phi_x, phi_t]`` with the authors' stack (google/tirg ``img_text_composition_models.py``, class
``Concat``): BN(2D) -> ReLU -> Linear(2D, 2D) -> BN(2D) -> ReLU ->
Dropout -> Linear(2D, D). Unlike TIRG it has no path that passes the image feature through unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models.composition.base import BaseComposer
from semspace.models.composition.registry import register_composer


@register_composer("concat")
class ConcatComposer(BaseComposer):
    """MLP over the concatenated image and text embeddings.

    Args:
        dim: the shared embedding size D.
        dropout: dropout probability before the last Linear (the authors use 0.1).
    """

    def __init__(self, *, dim: int, dropout: float = 0.1) -> None:
        super().__init__(dim=dim)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"composer 'concat': dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.net = nn.Sequential(
            nn.BatchNorm1d(2 * dim),
            nn.ReLU(),
            nn.Linear(2 * dim, 2 * dim),
            nn.BatchNorm1d(2 * dim),
            nn.ReLU(),
            nn.Dropout(self.dropout),
            nn.Linear(2 * dim, dim),
        )

    def _compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        x = torch.cat([img, txt], dim=1)  # (B, 2D)
        out: torch.Tensor = self.net(x)  # (B, D)
        return out

    def _extra_config(self) -> dict[str, Any]:
        return {"dropout": self.dropout}
