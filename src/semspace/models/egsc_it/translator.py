"""EGSC-IT networks (Ma et al., ICLR 2019, arXiv:1805.11145): a UNIT backbone with a shared fixed-variance latent,
the per-domain feature-mask auto-encoders, and PatchGAN discriminators.

As recorded from the authors' TF code (``papers/egsc_it.md``, charliememory/EGSC-IT @ 57874f2, ``trainer_EGSCIT.py``
class ``UNIT_MultiEncSpecificBranchFromImg_Cycle_ChangeRes_FeaMask_VggStyleContentLoss``, ``ops_EGSCIT.py``):

* ``DomainEncoder`` (E_A, E_B, separate weights): conv 7x7/1, ``channels``, LeakyReLU(0.2) -> ``n_down`` x
  [conv 3x3/2, channels x 2, LeakyReLU(0.2)] -> ``n_res`` (3) res-blocks. ``n_down = n_enc - 1``: 0 for MNIST, 2
  otherwise (256 channels at 1/4 resolution);
* ``SharedLatent``: the shared encoder, 1 res-block giving mu, then ``z = mu + N(0, 1)`` in training (a VAE with
  fixed unit variance; z = mu at test time); the shared generator, 1 res-block;
* ``DomainDecoder`` (G_A, G_B): [feature mask, then AdaIN, at its input] -> ``n_res`` (3) res-blocks -> ``n_down``
  x [deconv 3x3/2, channels / 2, LeakyReLU(0.2)] -> 1x1 deconv to 3 channels, tanh. No normalisation anywhere
  (``norm=None`` in all run scripts);
* ``PatchDiscriminator`` (D_A, D_B): ``n_layers`` (4) convs 4x4/2 (64-128-256-512, LeakyReLU(0.2), instance norm
  from the 2nd) -> 1x1 conv to one logit per patch; trained least-squares (LSGAN);
* ``FeatureMaskAutoEncoder``: the separately pre-trained reconstruction auto-encoder of one domain (``model=0``,
  ``UNIT_VAEGAN_recon``: E -> shared enc -> shared gen -> G); its encoder's last res-block map f gives the source's
  feature mask and the exemplar's AdaIN statistics (``models/egsc_it/layers.py``). It is trained first and frozen.

Our instance norm in the discriminator is computed by hand (``_instance_norm``) so that a 1x1 patch map at 28 px
(MNIST's 28 -> 14 -> 7 -> 3 -> 1) is defined (zero) instead of torch's error in training mode.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from semspace.models.egsc_it.layers import EPS, AdainForm, ResBlock, adain, feature_mask, style_stats

SLOPE = 0.2  # LeakyReLU slope of every conv layer (authors: lrelu 0.2)


class DomainEncoder(nn.Module):
    """Image ``(B, 3, H, W)`` -> feature map ``(B, channels * 2**n_down, H / 2**n_down, W / 2**n_down)``."""

    def __init__(self, *, in_channels: int = 3, channels: int = 64, n_down: int = 0, n_res: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 7, padding=3), nn.LeakyReLU(SLOPE)]
        c = channels
        for _ in range(n_down):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.LeakyReLU(SLOPE)]
            c *= 2
        self.stem = nn.Sequential(*layers)
        self.res = nn.Sequential(*[ResBlock(c, SLOPE) for _ in range(n_res)])
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res(self.stem(x))  # (B, C', H', W')


class SharedLatent(nn.Module):
    """The shared encoder (1 res-block -> mu) and the shared generator (1 res-block)."""

    def __init__(self, channels: int, *, n_enc: int = 1, n_gen: int = 1) -> None:
        super().__init__()
        self.enc = nn.Sequential(*[ResBlock(channels, SLOPE) for _ in range(n_enc)])
        self.gen = nn.Sequential(*[ResBlock(channels, SLOPE) for _ in range(n_gen)])

    def encode(self, h: torch.Tensor) -> torch.Tensor:
        """mu of the fixed-variance latent: ``(B, C', H', W')``."""
        return self.enc(h)

    def sample(self, mu: torch.Tensor) -> torch.Tensor:
        """``z = mu + N(0, 1)`` in training mode, ``mu`` in eval mode."""
        return mu + torch.randn_like(mu) if self.training else mu

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.gen(z)  # (B, C', H', W')


class DomainDecoder(nn.Module):
    """Feature map -> image in [-1, 1], with an optional feature mask and AdaIN at its input."""

    def __init__(self, *, channels: int = 64, n_down: int = 0, n_res: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        c = channels * 2**n_down
        self.res = nn.Sequential(*[ResBlock(c, SLOPE) for _ in range(n_res)])
        ups: list[nn.Module] = []
        for _ in range(n_down):
            ups += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1), nn.LeakyReLU(SLOPE)]
            c //= 2
        ups.append(nn.ConvTranspose2d(c, out_channels, 1))
        self.up = nn.Sequential(*ups)
        self.in_channels = channels * 2**n_down

    def forward(
        self,
        h: torch.Tensor,
        *,
        mask: torch.Tensor | None = None,
        style: tuple[torch.Tensor, torch.Tensor] | None = None,
        form: AdainForm = "code",
    ) -> torch.Tensor:
        """``h (B, C', H', W')``; ``mask`` a mask feature map (resized to h); ``style`` AdaIN's (scale, bias)."""
        if mask is not None:
            h = feature_mask(mask, h.shape[-2:]) * h  # (B, C', H', W')
        if style is not None:
            h = adain(h, style[0], style[1], form)  # (B, C', H', W')
        return torch.tanh(self.up(self.res(h)))  # (B, 3, H, W)


def _instance_norm(x: torch.Tensor) -> torch.Tensor:
    mu = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + EPS)


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` convs 4x4/2 (``channels`` doubling, instance norm from the 2nd) -> 1x1 logits."""

    def __init__(self, *, in_channels: int = 3, channels: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        convs = []
        c_in, c = in_channels, channels
        for _ in range(n_layers):
            convs.append(nn.Conv2d(c_in, c, 4, stride=2, padding=1))
            c_in, c = c, c * 2
        self.convs = nn.ModuleList(convs)
        self.head = nn.Conv2d(c_in, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i > 0:
                x = _instance_norm(x)
            x = F.leaky_relu(x, SLOPE)
        return self.head(x)  # (B, 1, h, w) one least-squares logit per patch


class FeatureMaskAutoEncoder(nn.Module):
    """One domain's reconstruction auto-encoder (E -> shared enc -> shared gen -> G), trained in stage 1."""

    def __init__(self, *, channels: int = 64, n_down: int = 0, n_res: int = 3) -> None:
        super().__init__()
        self.encoder = DomainEncoder(channels=channels, n_down=n_down, n_res=n_res)
        self.latent = SharedLatent(self.encoder.out_channels)
        self.decoder = DomainDecoder(channels=channels, n_down=n_down, n_res=n_res)
        self.register_buffer("trained_steps", torch.zeros((), dtype=torch.int64))  # stage-1 steps it has had

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's last res-block map f ``(B, C', H', W')``: masks and AdaIN statistics come from it."""
        return self.encoder(x)

    def style(self, x: torch.Tensor, form: AdainForm = "code") -> tuple[torch.Tensor, torch.Tensor]:
        """AdaIN's (scale, bias) ``(B, C', 1, 1)`` from exemplar images ``x``."""
        return style_stats(self.features(x), form)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(reconstruction (B, 3, H, W), mu (B, C', H', W'))``."""
        mu = self.latent.encode(self.features(x))
        return self.decoder(self.latent.generate(self.latent.sample(mu))), mu
