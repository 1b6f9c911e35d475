"""TIRG: Text Image Residual Gating (Vo et al., "Composing Text and Image for Image Retrieval - An Empirical
Odyssey", CVPR 2019, arXiv:1812.07119, Sec. 3.2).

The composed feature keeps the image feature where the text does not ask for a change (a gate) and adds a
residual that carries the change:

    phi_xt = w_g * f_gate(phi_x, phi_t) + w_r * f_res(phi_x, phi_t)                      (Eq. 1)
    f_gate = sigmoid(W_g * ReLU(BN([phi_x, phi_t]))) (.) phi_x                               (Eq. 2)
    f_res  = W_r2 * ReLU(W_r1 * ReLU(BN([phi_x, phi_t])))                                   (Eq. 3)

The layer stacks follow the authors' code (google/tirg ``img_text_composition_models.py``, class ``TIRG``):
each branch has its own BatchNorm1d over the concatenation (2D), the gate is a single Linear(2D -> D) after
BN -> ReLU (the paper writes two gate layers; we follow the code), and ``w = (w_g, w_r)`` is a learnable
parameter that the authors initialise to (1, 10), so the residual dominates at the start of training.
The equation numbers are recalled from the paper (its full text was not available here); the stacks are
verified against the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models.composition.base import BaseComposer
from semspace.models.composition.registry import register_composer


@register_composer("tirg")
class TirgComposer(BaseComposer):
    """Gated residual composer: ``w_g * sigmoid(gate) * img + w_r * residual``.

    Args:
        dim: the shared embedding size D.
        init_weights: initial ``(w_g, w_r)``, learnable (the authors use (1.0, 10.0)).

    Example:
        >>> composer = TirgComposer(dim=8)
        >>> composer(torch.randn(4, 8), torch.randn(4, 8)).shape
        torch.Size([4, 8])
    """

    def __init__(self, *, dim: int, init_weights: Sequence[float] = (1.0, 10.0)) -> None:
        super().__init__(dim=dim)
        weights = [float(w) for w in init_weights]
        if len(weights) != 2:
            raise ConfigError(f"composer 'tirg': init_weights must be (w_gate, w_residual), got {init_weights!r}")
        self.init_weights = tuple(weights)
        self.gate = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.residual = nn.Sequential(
            nn.BatchNorm1d(2 * dim),
            nn.ReLU(),
            nn.Linear(2 * dim, 2 * dim),
            nn.ReLU(),
            nn.Linear(2 * dim, dim),
        )
        self.w = nn.Parameter(torch.tensor(weights))  # (2,) = (w_g, w_r)

    def _compose(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        x = torch.cat([img, txt], dim=1)  # (B, 2D)
        gate = torch.sigmoid(self.gate(x))  # (B, D) in (0, 1)
        residual = self.residual(x)  # (B, D)
        out: torch.Tensor = self.w[0] * gate * img + self.w[1] * residual  # (B, D)
        return out

    def _extra_config(self) -> dict[str, Any]:
        return {"init_weights": list(self.init_weights)}
