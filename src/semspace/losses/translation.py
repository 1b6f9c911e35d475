"""EGSC-IT's translation losses (Ma et al., ICLR 2019, arXiv:1805.11145), as recorded from the authors' TF code
(``papers/egsc_it.md``, ``trainer_EGSCIT.py``):

* ``LsganGeneratorLoss``: least squares (Mao et al., arXiv:1611.04076), ``mean((D(fake) - 1)^2)``; the code weights
  it by 10 per domain (the weight lives in the task's config). Whether the generator term carries the 1/2 of the
  discriminator term is not recorded ([N]); we use none;
* ``LsganDiscriminatorLoss``: ``1/2 [mean((D(real) - 1)^2) + mean(D(fake)^2)]`` (weighted 10 per domain);
* ``LatentKlLoss``: the KL of the fixed-unit-variance latent, ``KL(mu) := mean(mu^2)`` (weighted 0.1);
* ``PerceptualContentLoss``: ``sum_i (i / n) L1(phi_i(x), phi_i(y))`` over n feature taps (the code: n = 5 VGG-19
  layers, weights i/5; deeper layers count more);
* ``PerceptualStyleLoss``: ``sum_i L1(Gram(phi_i(x)), Gram(phi_i(y)))`` with ``Gram = F^T F / (H W)`` per sample.

The feature maps come in already L2-normalised over H x W (``models/egsc_it/perceptual.py``); reconstruction and
cycle terms are a plain ``F.l1_loss`` in the task (weighted 100). L1 is the mean absolute difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from semspace.losses.registry import LOSSES


def gram(f: torch.Tensor) -> torch.Tensor:
    """``F^T F / (H W)`` of ``f (B, C, H, W)``: ``(B, C, C)``."""
    b, c, h, w = f.shape
    flat = rearrange(f, "b c h w -> b c (h w)")  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (h * w)  # (B, C, C)


@LOSSES.register("lsgan_generator")
class LsganGeneratorLoss(nn.Module):
    """``mean((D(fake) - 1)^2)``: the generator wants its fakes scored 1."""

    def forward(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return ((fake_logits - 1) ** 2).mean()


@LOSSES.register("lsgan_discriminator")
class LsganDiscriminatorLoss(nn.Module):
    """``1/2 [mean((D(real) - 1)^2) + mean(D(fake)^2)]``."""

    def forward(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (((real_logits - 1) ** 2).mean() + (fake_logits**2).mean())


@LOSSES.register("latent_kl")
class LatentKlLoss(nn.Module):
    """``mean(mu^2)``: KL(N(mu, I) || N(0, I)) up to the factor 1/2 and the sum, as in the UNIT / EGSC-IT code."""

    def forward(self, mu: torch.Tensor) -> torch.Tensor:
        return (mu**2).mean()


@LOSSES.register("perceptual_content")
class PerceptualContentLoss(nn.Module):
    """``sum_i (i / n) * mean|phi_i(x) - phi_i(y)|`` over the n taps (``i = 1..n``)."""

    def forward(self, feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor]) -> torch.Tensor:
        n = len(feats_x)
        terms = [(i + 1) / n * F.l1_loss(fx, fy) for i, (fx, fy) in enumerate(zip(feats_x, feats_y, strict=True))]
        return torch.stack(terms).sum()


@LOSSES.register("perceptual_style")
class PerceptualStyleLoss(nn.Module):
    """``sum_i mean|Gram(phi_i(x)) - Gram(phi_i(y))|``."""

    def forward(self, feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor]) -> torch.Tensor:
        terms = [F.l1_loss(gram(fx), gram(fy)) for fx, fy in zip(feats_x, feats_y, strict=True)]
        return torch.stack(terms).sum()
