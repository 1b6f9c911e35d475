"""The MUNIT-style style path of EGSC-IT's peer row: a style code from the exemplar through an MLP to AdaIN.

Huang, Liu, Belongie, Kautz, "Multimodal Unsupervised Image-to-Image Translation" (MUNIT), ECCV 2018,
arXiv:1804.04732, the classic exemplar-guided peer of EGSC-IT (Ma et al., arXiv:1805.11145). In MUNIT a *trained*
style encoder maps an image to a low-dimensional style code (conv 7x7 -> stride-2 convs -> global average pool ->
1x1 conv to an 8-d code), and an MLP maps the code to the AdaIN parameters of the decoder; there are no feature
masks. Here the style path replaces EGSC-IT's frozen auto-encoder statistics inside the same UNIT backbone and the
same losses (``tasks/egsc_it.py``, ``adain: munit``), so the row isolates "learned global style code, no masks"
against "exemplar feature statistics with masks". Our simplifications (from memory of MUNIT, not checked against its
code): AdaIN once, at the decoder input (MUNIT: in every decoder res-block); the MLP predicts ``scale - 1`` so that
an untrained path starts near the identity; no MUNIT-specific latent reconstruction losses; LeakyReLU(0.2) as the
rest of the backbone.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

SLOPE = 0.2


class MunitStyleEncoder(nn.Module):
    """Image ``(B, 3, H, W)`` -> style code ``(B, style_dim)``: conv 7x7 -> ``n_down`` stride-2 convs -> pool -> 1x1."""

    def __init__(self, *, channels: int = 64, n_down: int = 2, style_dim: int = 8, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 7, padding=3), nn.LeakyReLU(SLOPE)]
        c = channels
        for _ in range(n_down):
            layers += [nn.Conv2d(c, c * 2, 4, stride=2, padding=1), nn.LeakyReLU(SLOPE)]
            c *= 2
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, style_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.net(x), "b d 1 1 -> b d")  # (B, style_dim)


class AdainParamMlp(nn.Module):
    """Style code ``(B, style_dim)`` -> AdaIN ``(scale, bias)``, each ``(B, C, 1, 1)`` (MUNIT's MLP)."""

    def __init__(self, *, style_dim: int, out_channels: int, hidden: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = style_dim
        for _ in range(n_layers - 1):
            layers += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        layers.append(nn.Linear(d, 2 * out_channels))
        self.net = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = rearrange(self.net(code), "b (two c) -> two b c 1 1", two=2)  # (2, B, C, 1, 1)
        return 1.0 + p[0], p[1]


class MunitStylePath(nn.Module):
    """Exemplar ``(B, 3, H, W)`` -> AdaIN ``(scale, bias)``: ``AdainParamMlp(MunitStyleEncoder(x))``."""

    def __init__(self, *, channels: int, out_channels: int, n_down: int = 2, style_dim: int = 8) -> None:
        super().__init__()
        self.encoder = MunitStyleEncoder(channels=channels, n_down=n_down, style_dim=style_dim)
        self.mlp = AdainParamMlp(style_dim=style_dim, out_channels=out_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mlp(self.encoder(x))
