"""EGSC-IT building blocks: residual blocks, the two AdaIN forms, feature masks (Ma et al., "Exemplar Guided
Unsupervised Image-to-Image Translation with Semantic Consistency", ICLR 2019, arXiv:1805.11145).

Sources, as recorded in ``papers/egsc_it.md`` (official TF code charliememory/EGSC-IT @ 57874f2, ``ops_EGSCIT.py``,
``trainer_EGSCIT.py``):

* ``ResBlock``: conv 3x3 -> LeakyReLU(0.2) -> conv 3x3, plus the input; ``norm=None`` in every run script, so no
  normalisation layer (the activation between the convs and its slope follow the encoder's LeakyReLU(0.2); the
  exact block body is not recorded, our choice);
* ``style_stats`` + ``adain``, ``form="code"``: from the exemplar's feature map f_ex (the frozen feature-mask
  encoder's last res-block), gamma = mean_hw(f_ex) - 1, beta = var_hw(f_ex), applied to the decoder input h as
  ``h <- (1 + gamma) * (h - mu_h) / var_h + beta``: the authors' code divides by the *variance* and adds the
  *variance* as the bias;
* ``form="textbook"``: AdaIN of Huang & Belongie (arXiv:1703.06868), ``sigma(f_ex) * (h - mu_h) / sigma_h +
  mu(f_ex)``;
* ``form="signed"`` (ours, not the authors'; ``docs/egsc_it.md``): the textbook form with each channel's polarity
  matched by the sign of its skewness, ``s(f_ex) sigma(f_ex) * s(h) (h - mu_h) / sigma_h + mu(f_ex)`` with ``s(x) =
  sign(E[(x - mu_x)^3])`` per sample and channel (+1 at 0). A digit (an object) covers the minority of the pixels,
  so the skewness says on which side of the mean it lies: the content's minority side is sent to the exemplar's.
  The textbook scale ``sigma(f_ex) > 0`` cannot flip the content's sign, so the decoder drew the digit on the same
  side of the exemplar's mean whichever of its two colours was the foreground: on the digits' validation split, the
  textbook form put the strokes in the wrong colour for three of the six colour pairs, which of the three set by
  the content's polarity (``benchmarks/results/egsc_it_pairs_val.md``);
* ``feature_mask``: ``m = 0.5 * sigmoid(f_src) + 0.5`` (values in (0.5, 1)), bilinearly resized to h, applied as
  ``h <- m * h`` at the input of the first decoder res-block.

Moments are over H x W per sample and channel (instance statistics, population variance). ``EPS`` (1e-5) is added
to the variance before dividing or taking the root: the recorded code does not say which epsilon it uses ([N]).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

AdainForm = Literal["code", "textbook", "signed"]
ADAIN_FORMS: tuple[str, ...] = ("code", "textbook", "signed")
EPS = 1e-5


class ResBlock(nn.Module):
    """``x + conv(lrelu(conv(x)))`` with 3x3 convs and no normalisation (the authors' ``norm=None``)."""

    def __init__(self, channels: int, slope: float = 0.2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.conv1(x), self.slope)  # (B, C, H, W)
        return x + self.conv2(h)


def instance_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and population variance over H x W: ``(B, C, 1, 1)`` each."""
    mu = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)  # (B, C, 1, 1)
    return mu, var


def skew_sign(x: torch.Tensor) -> torch.Tensor:
    """Per sample and channel, the sign of the skewness of ``x (B, C, H, W)`` over H x W: ``(B, C, 1, 1)`` of +-1
    (+1 where the third central moment is 0). The side of the mean on which the minority of the pixels lies."""
    mu = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    third = ((x - mu) ** 3).mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    return torch.where(third >= 0, 1.0, -1.0).to(x.dtype).detach()


def style_stats(f_ex: torch.Tensor, form: AdainForm = "code") -> tuple[torch.Tensor, torch.Tensor]:
    """The (scale, bias) an exemplar's feature map ``f_ex (B, C, h, w)`` gives AdaIN, each ``(B, C, 1, 1)``.

    ``code``: scale ``1 + gamma = mean(f_ex)``, bias ``beta = var(f_ex)``; ``textbook``: scale ``std(f_ex)``, bias
    ``mean(f_ex)``; ``signed``: scale ``skew_sign(f_ex) std(f_ex)``, bias ``mean(f_ex)``.
    """
    mu, var = instance_moments(f_ex)
    if form == "code":
        return mu, var  # (1 + gamma) with gamma = mu - 1; beta = var
    if form == "textbook":
        return torch.sqrt(var + EPS), mu
    if form == "signed":
        return skew_sign(f_ex) * torch.sqrt(var + EPS), mu
    raise ValueError(f"unknown AdaIN form {form!r}; expected one of {list(ADAIN_FORMS)}")


def adain(h: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, form: AdainForm = "code") -> torch.Tensor:
    """Adaptive instance normalisation of ``h (B, C, H, W)`` with per-sample ``scale``, ``bias (B, C, 1, 1)``.

    ``code``: ``scale * (h - mu_h) / (var_h + EPS) + bias``; ``textbook``: ``scale * (h - mu_h) / sqrt(var_h + EPS)
    + bias``; ``signed``: the textbook form of ``skew_sign(h) h``, so that the content's minority side goes where
    the sign of ``scale`` (``style_stats(..., "signed")``) puts it.
    """
    mu, var = instance_moments(h)
    if form == "code":
        normed = (h - mu) / (var + EPS)  # (B, C, H, W) divided by the variance, as the authors' code
    elif form == "textbook":
        normed = (h - mu) / torch.sqrt(var + EPS)
    elif form == "signed":
        normed = skew_sign(h) * (h - mu) / torch.sqrt(var + EPS)  # (B, C, H, W), minority side positive
    else:
        raise ValueError(f"unknown AdaIN form {form!r}; expected one of {list(ADAIN_FORMS)}")
    return scale * normed + bias


def feature_mask(f_src: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """``0.5 * sigmoid(f_src) + 0.5`` bilinearly resized to ``size`` (H, W): ``(B, C, H, W)`` in (0.5, 1)."""
    m = 0.5 * torch.sigmoid(f_src) + 0.5  # (B, C, h, w)
    if tuple(m.shape[-2:]) != tuple(size):
        m = F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)
    return m
