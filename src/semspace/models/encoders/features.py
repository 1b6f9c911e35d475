"""Feature encoder: an MLP over precomputed feature vectors (users' ``.npz``/``.mat`` features, DESIGN §4).

It plays the role of CHTN's per-modality fully connected branches (Huang, Peng, Yuan, IJCAI 2017: a 4096-d
image feature or a 3000-d bag-of-words -> [BN] -> fc -> BN -> ReLU -> ...), ending in a linear projection to the
shared space: ``F -> hidden_dims... -> D``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError, DataError
from semspace.models.encoders.base import BaseEncoder
from semspace.models.layers import Mlp
from semspace.models.registry import register_encoder


@dataclass
class MlpFeaturesCfg:
    in_dim: int = 4096  # input feature size F (set it to your data's: e.g. 3000 for a bag-of-words)
    hidden_dims: tuple[int, ...] = (1024,)  # hidden layer sizes (empty: one linear projection)
    embed_dim: int = 512  # output size D
    dropout: float = 0.1  # dropout after each hidden activation
    batch_norm: bool = True  # BatchNorm1d after each hidden Linear (CHTN's fc -> BN -> ReLU)
    input_norm: bool = False  # BatchNorm1d on the raw input (CHTN's BoW input "BN + Scale")
    act: str = "relu"  # activation: relu | gelu | silu | relu6


@register_encoder("mlp_features")
class MlpFeaturesEncoder(BaseEncoder):
    """``(B, F) -> (B, D)`` MLP for precomputed features.

    Example:
        >>> enc = MlpFeaturesEncoder(in_dim=16, hidden_dims=(32,), embed_dim=8)
        >>> enc.encode(torch.randn(4, 16)).shape
        torch.Size([4, 8])
    """

    cfg_class = MlpFeaturesCfg
    input_kind = "features"

    def __init__(self, cfg: MlpFeaturesCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        c = self.cfg
        if c.in_dim <= 0 or c.embed_dim <= 0 or any(h <= 0 for h in c.hidden_dims):
            raise ConfigError(f"mlp_features: in_dim, hidden_dims and embed_dim must be positive, got {c}")
        self.mlp = Mlp(
            c.in_dim,
            c.hidden_dims,
            c.embed_dim,
            dropout=c.dropout,
            batch_norm=c.batch_norm,
            act=c.act,
            input_norm=c.input_norm,
        )
        self.output_dim = c.embed_dim

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.cfg.in_dim:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataError(f"mlp_features: expected features of shape (B, {self.cfg.in_dim}), got {got}")
        return self.mlp(x.float())  # (B, F) -> (B, D)

    def lock_groups(self) -> list[nn.Module]:
        """One group per hidden block (the input norm joins the first); the output Linear is the projection."""
        groups: list[nn.Module] = list(self.mlp.blocks)
        if groups:
            groups[0] = nn.ModuleList([self.mlp.input_norm, groups[0]])
        return groups
