"""JointEmbeddingModel: one encoder per domain, all mapping into one shared space (DESIGN: the shared space).

Every domain's encoder follows the encoder contract (``encode(x, normalize) -> (B, D)``) with the same D;
the joint model adds a learnable logit scale (CLIP, arXiv:2103.00020) for contrastive training and the
named entry points ``encode_image`` / ``encode_sketch`` / ``encode_text`` the CLI and service use.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class JointEmbeddingModel(nn.Module):
    """Domain name -> encoder, plus a shared logit scale.

    Args:
        encoders: one encoder per domain (keys are domain names such as "blobs2d", "render3d", "text").
        init_temperature: initial softmax temperature T (the logit scale starts at 1/T).
    """

    def __init__(self, *, encoders: dict[str, nn.Module], init_temperature: float = 0.07) -> None:
        super().__init__()
        dims = {name: getattr(enc, "output_dim", None) for name, enc in encoders.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f"all encoders of a shared space need the same output_dim, got {dims}")
        self.encoders = nn.ModuleDict(encoders)
        self.embed_dim = int(next(iter(dims.values())))  # type: ignore[arg-type]
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    @property
    def domains(self) -> list[str]:
        return list(self.encoders.keys())

    def encode(self, domain: str, x: Any, normalize: bool = True) -> torch.Tensor:
        """Embeds inputs of ``domain``: (B, ...) -> (B, D)."""
        if domain not in self.encoders:
            raise KeyError(f"no encoder for domain {domain!r}; this model has {self.domains}")
        return self.encoders[domain].encode(x, normalize=normalize)  # type: ignore[operator]

    def scale(self) -> torch.Tensor:
        """exp(logit_scale), clamped at 100 as in CLIP."""
        return self.logit_scale.exp().clamp(max=100.0)

    def forward(self, **inputs: Any) -> dict[str, torch.Tensor]:
        """``forward(blobs2d=x, text=t)`` -> ``{"blobs2d_features": (B, D), ..., "logit_scale": ()}``."""
        out = {f"{d}_features": self.encode(d, x) for d, x in inputs.items() if x is not None}
        out["logit_scale"] = self.scale()
        return out
