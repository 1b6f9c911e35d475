"""Image encoders: a backbone (timm contract) + global average pooling + a linear projection to the shared space.

* ``small_cnn``: ``SmallCnnBackbone`` trained from scratch (32-128 px); exposes ``forward_intermediates`` for
  SSGN's multi-layer feature fusion.
* ``efficientnet_lite0``: the offline ImageNet EfficientNet-Lite0 (arXiv:1905.11946), 1280-d pooled features,
  our "ImageNet" source of single-modal knowledge (CHTN's pretrained image branch; TIRG's pretrained CNN).

Every image encoder carries ``preprocess_cfg`` (inside its cfg as ``preprocess``): the transform that makes its
``(B, C, H, W)`` inputs is built from it (``data.transforms.build_transform``), never from constants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from semspace.data.preprocess import IMAGENET_MEAN, IMAGENET_STD, PreprocessCfg
from semspace.errors import ConfigError, DataError
from semspace.models.backbones import SmallCnnBackbone
from semspace.models.encoders.base import BaseEncoder
from semspace.models.encoders.pretrained import EFFICIENTNET_MODULES, EfficientNetLiteBackbone, load_efficientnet_lite0
from semspace.models.registry import register_encoder


class BackboneImageEncoder(BaseEncoder):
    """``backbone.forward_head(backbone.forward_features(x), pre_logits=True)`` -> dropout -> Linear to D.

    Subclasses build ``self.backbone`` and call ``_init_projection(embed_dim, dropout)``.
    """

    input_kind = "image"
    backbone: Any  # a module with the backbone contract (forward_features, forward_head, lock_groups)

    @property
    def preprocess_cfg(self) -> PreprocessCfg:
        """How raw images become this encoder's inputs (size, channels, mean/std, resize)."""
        return self.cfg.preprocess

    def _init_projection(self, embed_dim: int | None, dropout: float) -> None:
        c = int(self.backbone.num_features)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.proj = nn.Linear(c, embed_dim) if embed_dim else nn.Identity()
        self.output_dim = int(embed_dim) if embed_dim else c

    def _check(self, x: torch.Tensor) -> None:
        c = self.preprocess_cfg.channels
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != c or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataError(
                f"{self.architecture}: expected a float image batch (B, {c}, H, W) made by "
                f"build_transform(preprocess_cfg), got {got}"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's feature maps ``(B, C, h, w)``."""
        self._check(x)
        return self.backbone.forward_features(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.forward_features(x)  # (B, C, h, w)
        pooled = self.backbone.forward_head(maps, pre_logits=True)  # (B, C)
        return self.proj(self.drop(pooled))  # (B, D)

    def lock_groups(self) -> list[nn.Module]:
        return self.backbone.lock_groups()


@dataclass
class SmallCnnCfg:
    embed_dim: int | None = 128  # output size D of the projection (None or 0: no projection, D = widths[-1])
    widths: tuple[int, ...] = (32, 64, 128, 256)  # output channels of each stage
    depths: tuple[int, ...] = (1, 1, 2, 2)  # conv-BN-ReLU units per stage
    strides: tuple[int, ...] = (2, 2, 2, 2)  # stride of each stage's first unit (2 halves h and w)
    act: str = "relu"  # activation: relu | gelu | silu | relu6
    dropout: float = 0.0  # dropout on the pooled features, before the projection
    preprocess: PreprocessCfg = field(default_factory=PreprocessCfg)  # input transform (64 px RGB, mean/std 0.5)


@register_encoder("small_cnn")
class SmallCnnEncoder(BackboneImageEncoder):
    """A small conv-BN-ReLU CNN trained from scratch, with a projection to the shared space.

    Example:
        >>> enc = SmallCnnEncoder(widths=(8, 16), depths=(1, 1), strides=(2, 2), embed_dim=32)
        >>> enc.encode(torch.randn(2, 3, 64, 64), normalize=True).shape
        torch.Size([2, 32])
    """

    cfg_class = SmallCnnCfg

    def __init__(self, cfg: SmallCnnCfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        c = self.cfg
        self.backbone = SmallCnnBackbone(
            in_chans=c.preprocess.channels, widths=c.widths, depths=c.depths, strides=c.strides, act=c.act
        )
        self._init_projection(c.embed_dim, c.dropout)

    def forward_intermediates(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's feature map ``[(B, C_i, h_i, w_i)]`` (SSGN multi-layer fusion)."""
        self._check(x)
        return self.backbone.forward_intermediates(x)


def _imagenet_preprocess() -> PreprocessCfg:
    return PreprocessCfg(size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize="center_crop", interpolation="bicubic")


@dataclass
class EfficientNetLite0Cfg:
    embed_dim: int | None = 512  # output size D of the projection (None or 0: no projection, D = 1280)
    pretrained: bool = True  # load the offline ImageNet weights (False: random init, e.g. for shape tests)
    unlocked_groups: int | None = None  # None: the whole tower trains; N: lock() all but the last N of 9 groups
    freeze_norm_stats: bool = True  # with unlocked_groups: frozen groups keep their BatchNorm statistics
    dropout: float = 0.0  # dropout on the pooled features, before the projection
    preprocess: PreprocessCfg = field(default_factory=_imagenet_preprocess)  # 224 px ImageNet mean/std (any size ok)


@register_encoder("efficientnet_lite0")
class EfficientNetLite0Encoder(BackboneImageEncoder):
    """ImageNet EfficientNet-Lite0 (offline weights) + projection; ``lock()`` freezes its stages.

    Smaller inputs (e.g. ``preprocess={"size": 64}``) work: the maps shrink to ``size / 32`` a side.
    """

    cfg_class = EfficientNetLite0Cfg
    requires = EFFICIENTNET_MODULES

    def __init__(self, cfg: EfficientNetLite0Cfg | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__(cfg, **overrides)
        c = self.cfg
        if c.preprocess.channels != 3:
            raise ConfigError(f"efficientnet_lite0: preprocess.channels must be 3 (RGB), got {c.preprocess.channels}")
        net = load_efficientnet_lite0(pretrained=c.pretrained, image_size=c.preprocess.size)
        self.backbone = EfficientNetLiteBackbone(net, num_classes=0)
        self._init_projection(c.embed_dim, c.dropout)
        if c.unlocked_groups is not None:
            self.lock(c.unlocked_groups, freeze_norm_stats=c.freeze_norm_stats)
