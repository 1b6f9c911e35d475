"""Shared building blocks of the encoders (timm ``layers/`` style, so no file duplicates them).

* ``Mlp``: Linear (-> BN) -> act -> dropout stacks, the feature branches of CHTN (Huang, Peng, Yuan, IJCAI 2017;
  ``fc -> BN -> ReLU`` per layer) and the projection heads of the encoders.
* ``L2Norm``: TIRG's ``NormalizationLayer`` (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg
  ``torch_functions.py``): ``s * x / ||x||`` with a learnable scale ``s`` initialised to 4.0, applied to the
  composed query and to the target before the softmax/triplet losses.
* ``ConvBnAct``: Conv2d -> BatchNorm2d -> activation, the unit of the small CNN backbones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from semspace.errors import ConfigError

_ACTS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "relu6": nn.ReLU6}


def get_act_layer(name_or_module: str | type[nn.Module]) -> type[nn.Module]:
    """Returns an activation class from its name ("relu", "gelu", "silu", "relu6") or the class itself."""
    if not isinstance(name_or_module, str):
        return name_or_module
    try:
        return _ACTS[name_or_module]
    except KeyError:
        raise ConfigError(f"unknown activation {name_or_module!r}; expected one of {sorted(_ACTS)}") from None


class Mlp(nn.Module):
    """``in_dim -> hidden_dims... -> out_dim``; every hidden layer is Linear (-> BN) -> act -> dropout.

    The last layer is a plain Linear (no norm, no activation), so the output is an unconstrained embedding.

    Args:
        in_dim: input feature size F.
        hidden_dims: sizes of the hidden layers (empty: a single Linear).
        out_dim: output size D.
        dropout: dropout probability after each hidden activation.
        batch_norm: insert BatchNorm1d after each hidden Linear (CHTN's fc -> BN -> ReLU).
        act: activation name or class.
        input_norm: BatchNorm1d on the input itself (CHTN normalises its 3000-d bag-of-words input this way).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int],
        out_dim: int,
        *,
        dropout: float = 0.0,
        batch_norm: bool = False,
        act: str | type[nn.Module] = "relu",
        input_norm: bool = False,
    ) -> None:
        super().__init__()
        act_layer = get_act_layer(act)
        self.input_norm: nn.Module = nn.BatchNorm1d(in_dim) if input_norm else nn.Identity()
        blocks: list[nn.Module] = []
        prev = in_dim
        for h in hidden_dims:
            layers: list[nn.Module] = [nn.Linear(prev, h, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(act_layer())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            blocks.append(nn.Sequential(*layers))
            prev = h
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(prev, out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(x)  # (B, F)
        for block in self.blocks:
            x = block(x)  # (B, H_i)
        return self.fc(x)  # (B, D)


class L2Norm(nn.Module):
    """``s * x / ||x||_2`` over the last dim, with ``s`` learnable (TIRG's NormalizationLayer, init 4.0).

    Args:
        init_scale: initial value of the scale ``s``.
        learnable: train ``s`` (True, as in TIRG) or keep it fixed.
        eps: guards the division for all-zero rows.
    """

    def __init__(self, init_scale: float = 4.0, learnable: bool = True, eps: float = 1e-12) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init_scale)), requires_grad=learnable)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(x, dim=-1, eps=self.eps)  # (B, D), every row has norm s

    def extra_repr(self) -> str:
        return f"init_scale={self.scale.item():.3g}, learnable={self.scale.requires_grad}"


class ConvBnAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> activation, with "same" padding for odd kernels.

    Args:
        in_chans: input channels.
        out_chans: output channels.
        kernel_size: square kernel side (odd).
        stride: convolution stride (2 halves h and w).
        act: activation name or class.
    """

    def __init__(
        self, in_chans: int, out_chans: int, kernel_size: int = 3, stride: int = 1, act: str | type[nn.Module] = "relu"
    ) -> None:
        super().__init__(
            nn.Conv2d(in_chans, out_chans, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_chans),
            get_act_layer(act)(),
        )
