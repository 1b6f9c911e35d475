"""Conditional decoders that generate a photo feature for a sketch (SSGN and its baselines).

* ``CoarseToFineDecoder``: SSGN's stacked decoder (Wang et al. 2019, ``papers/ssgn.md``). Stage 1 generates a
  *category-level* photo feature from the class semantics and noise, ``c = G1([s; z1])``; stage 2 an
  *instance-level* one from the stage-1 output and the fused sketch feature, ``f = c + G2([c; h; z2])``. The
  paper's equations are not recoverable [N]; our choices: both stages are 2-layer ReLU MLPs, stage 2 is a
  **residual** refinement of stage 1 (so stage 1 keeps meaning "the category's photo feature" and stage 2 adds
  what the sketch says about the instance), noise ``z ~ N(0, noise_std^2 I)`` in training and ``z = 0`` at test.
  It is a deterministic conditional generator, **not a CVAE** (no encoder, no KL term): with a regression loss
  to a same-class photo, the KL path of a CVAE only adds variance to what is a regression to the class-conditional
  mean; the CVAE is the Yelamarthi baseline below, measured in ``docs/ssgn.md``.
* ``SingleStageDecoder``: the single-stage ablation, ``f = G([s; h; z])``.
* ``CvaeDecoder``: Yelamarthi, Reddy, Mishra, Mittal, "A Zero-Shot Framework for Sketch-based Image Retrieval",
  ECCV 2018 (arXiv:1807.11724), the CVAE baseline: encoder ``q(z | f_photo, h) = N(mu, diag(sigma^2))``, decoder
  ``f = D([z; h])``; training loss ``||f - f_photo||^2 + beta KL(q || N(0, I))``; at test ``z = 0`` (the prior's
  mean; the paper averages samples, which for a near-linear decoder is the same point).
"""

from __future__ import annotations

import torch
from torch import nn


def _mlp(in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Linear(hidden, out_dim))


def _noise(ref: torch.Tensor, dim: int, std: float, training: bool) -> torch.Tensor:
    if dim <= 0:
        return ref.new_zeros(ref.shape[0], 0)
    if not training or std <= 0:
        return ref.new_zeros(ref.shape[0], dim)  # (B, Z) test: the noise's mean
    return torch.randn(ref.shape[0], dim, device=ref.device, dtype=ref.dtype) * std  # (B, Z)


class CoarseToFineDecoder(nn.Module):
    """SSGN's two-stage decoder (module docstring).

    Args:
        semantic_dim: width S of the class semantics.
        sketch_dim: width H of the fused sketch feature.
        out_dim: width P of the photo features.
        hidden: hidden width of both MLPs.
        noise_dim: width Z of each stage's noise (0: none).
        noise_std: standard deviation of the training noise.
        dropout: dropout inside the MLPs.

    Example:
        >>> dec = CoarseToFineDecoder(semantic_dim=8, sketch_dim=16, out_dim=32, hidden=64)
        >>> out = dec(torch.randn(4, 8), torch.randn(4, 16))
        >>> out["coarse"].shape, out["fine"].shape
        (torch.Size([4, 32]), torch.Size([4, 32]))
    """

    def __init__(self, *, semantic_dim: int, sketch_dim: int, out_dim: int, hidden: int = 1024, noise_dim: int = 16,
                 noise_std: float = 1.0, dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        self.noise_dim, self.noise_std = noise_dim, noise_std
        self.stage1 = _mlp(semantic_dim + noise_dim, hidden, out_dim, dropout)
        self.stage2 = _mlp(out_dim + sketch_dim + noise_dim, hidden, out_dim, dropout)

    def coarse(self, semantics: torch.Tensor) -> torch.Tensor:
        """Stage 1: ``(B, S) -> (B, P)``, the category-level photo feature."""
        z1 = _noise(semantics, self.noise_dim, self.noise_std, self.training)  # (B, Z)
        return self.stage1(torch.cat([semantics, z1], dim=1))  # (B, P)

    def fine(self, coarse: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        """Stage 2: ``(B, P), (B, H) -> (B, P)``, the instance-level photo feature (a residual on ``coarse``)."""
        z2 = _noise(sketch, self.noise_dim, self.noise_std, self.training)  # (B, Z)
        return coarse + self.stage2(torch.cat([coarse, sketch, z2], dim=1))  # (B, P)

    def forward(self, semantics: torch.Tensor, sketch: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.coarse(semantics)  # (B, P)
        return {"coarse": c, "fine": self.fine(c, sketch)}


class SingleStageDecoder(nn.Module):
    """The single-stage ablation: ``f = G([s; h; z])`` (same arguments as ``CoarseToFineDecoder``)."""

    def __init__(self, *, semantic_dim: int, sketch_dim: int, out_dim: int, hidden: int = 1024, noise_dim: int = 16,
                 noise_std: float = 1.0, dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        self.noise_dim, self.noise_std = noise_dim, noise_std
        self.net = _mlp(semantic_dim + sketch_dim + noise_dim, hidden, out_dim, dropout)

    def forward(self, semantics: torch.Tensor, sketch: torch.Tensor) -> dict[str, torch.Tensor]:
        z = _noise(sketch, self.noise_dim, self.noise_std, self.training)  # (B, Z)
        return {"fine": self.net(torch.cat([semantics, sketch, z], dim=1))}  # (B, P)


class CvaeDecoder(nn.Module):
    """Yelamarthi et al. 2018's CVAE (module docstring): conditioned on the sketch feature only.

    Args:
        sketch_dim: width H of the sketch feature (the condition).
        out_dim: width P of the photo features.
        hidden: hidden width of the encoder and decoder.
        latent_dim: width of z.
    """

    def __init__(self, *, sketch_dim: int, out_dim: int, hidden: int = 1024, latent_dim: int = 64,
                 dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = _mlp(out_dim + sketch_dim, hidden, 2 * latent_dim, dropout)
        self.decoder = _mlp(latent_dim + sketch_dim, hidden, out_dim, dropout)

    def forward(self, sketch: torch.Tensor, photo: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training (``photo`` given): ``{"fine", "mu", "logvar"}`` with z sampled from q; test: z = 0."""
        if photo is None or not self.training:
            z = sketch.new_zeros(sketch.shape[0], self.latent_dim)  # (B, z)
            return {"fine": self.decoder(torch.cat([z, sketch], dim=1))}
        mu, logvar = self.encoder(torch.cat([photo, sketch], dim=1)).chunk(2, dim=1)  # (B, z) each
        logvar = logvar.clamp(-10.0, 10.0)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # (B, z) reparameterisation
        return {"fine": self.decoder(torch.cat([z, sketch], dim=1)), "mu": mu, "logvar": logvar}
