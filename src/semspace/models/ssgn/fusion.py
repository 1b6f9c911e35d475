"""SSGN's multi-layer feature fusion: pooled intermediate CNN features of a sketch, fused into one vector.

Wang, Deng, Xu, Liu, Gao, Tao, "Stacked Semantic-Guided Network for Zero-Shot Sketch-Based Image Retrieval",
2019 (``papers/ssgn.md``): sketches are sparse, so the sketch representation fuses several intermediate layers
of the CNN instead of the last one only. The paper's exact layers and fusion operator are not recoverable [N];
the choices below are ours and are config (``tasks/ssgn.py``, ``docs/ssgn.md`` has the measurements):

* **taps** (``backbone_taps``): the output of every stage of the backbone (``small_cnn``: each stage;
  EfficientNet-Lite0: the stem, the 7 MBConv stages and the 1x1 head conv, 9 taps), each pooled to a vector by
  ``pooling``: ``avg`` (global average), ``max`` (global max: a sparse stroke map's strongest responses) or
  ``avgmax`` (both, concatenated; the default, measured best on the world);
* **fusion** (``MultiLayerFusion``): every chosen tap ``t_l (B, C_l)`` goes through LayerNorm and a linear map to
  ``d``; ``concat`` joins the L projections and maps them to the output width with a ReLU MLP, ``sum`` adds them
  with learned softmax weights; ``layers: [-1]`` (only the last tap) is the no-fusion ablation.

``FrozenFeatureMemo`` keeps the taps of a frozen backbone per process, keyed by the bytes of each input image,
so a frozen ImageNet backbone runs once per distinct image however many epochs or methods read it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from semspace.errors import ConfigError

POOLINGS = ("avg", "max", "avgmax")
FUSIONS = ("concat", "sum")


def _efficientnet_taps(net: Any, x: torch.Tensor) -> list[torch.Tensor]:
    """The package EfficientNet's ``extract_features`` with the output of the stem, each stage and the head."""
    x = net._swish(net._bn0(net._conv_stem(x)))  # (B, 32, H/2, W/2)
    outs = [x]
    blocks = list(net._blocks)
    for i, block in enumerate(blocks):
        x = block(x, drop_connect_rate=None)  # eval-time: no drop connect
        last = i + 1 == len(blocks)
        if last or blocks[i + 1]._block_args.input_filters != blocks[i + 1]._block_args.output_filters:
            outs.append(x)  # the end of a stage (the next block changes the channel count)
    outs.append(net._swish(net._bn1(net._conv_head(x))))  # (B, 1280, h, w)
    return outs


def backbone_maps(encoder: Any, x: torch.Tensor) -> list[torch.Tensor]:
    """The intermediate feature maps ``[(B, C_l, h_l, w_l)]`` of an image encoder, input to output.

    ``small_cnn`` (``forward_intermediates``): one per stage; ``efficientnet_lite0``: stem, 7 stages, head.
    """
    if hasattr(encoder, "forward_intermediates"):
        return list(encoder.forward_intermediates(x))
    net = getattr(getattr(encoder, "backbone", None), "net", None)
    if net is not None and hasattr(net, "_blocks"):
        return _efficientnet_taps(net, x)
    raise ConfigError(
        f"ssgn: encoder {getattr(encoder, 'architecture', type(encoder).__name__)!r} exposes no intermediate "
        "layers; use small_cnn or efficientnet_lite0"
    )


def pool(maps: torch.Tensor, pooling: str) -> torch.Tensor:
    """``(B, C, h, w) -> (B, C)`` (avg, max) or ``(B, 2C)`` (avgmax: average then max)."""
    if pooling == "avg":
        return maps.mean(dim=(2, 3))
    if pooling == "max":
        return maps.amax(dim=(2, 3))
    if pooling == "avgmax":
        return torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)  # (B, 2C)
    raise ConfigError(f"ssgn: pooling {pooling!r}; expected one of {POOLINGS}")


def backbone_taps(encoder: Any, x: torch.Tensor, pooling: str = "avgmax") -> list[torch.Tensor]:
    """Every tap of ``backbone_maps`` pooled to ``(B, C_l)`` (``2 C_l`` for avgmax)."""
    return [pool(m, pooling) for m in backbone_maps(encoder, x)]


def tap_widths(encoder: Any, size: int, channels: int, pooling: str = "avgmax") -> list[int]:
    """Widths of ``backbone_taps`` for ``size`` px inputs, from one dry forward of a 2-image batch."""
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        widths = [int(t.shape[1]) for t in backbone_taps(encoder, torch.zeros(2, channels, size, size), pooling)]
    encoder.train(was)
    return widths


class FrozenFeatureMemo:
    """Per-process memo of a frozen function of images, one row per distinct input image (keyed by its bytes).

    Args:
        max_items: rows kept at most (older rows are not evicted: beyond it new rows are just not stored).
    """

    def __init__(self, max_items: int = 200_000) -> None:
        self.rows: dict[bytes, torch.Tensor] = {}
        self.max_items = max_items

    @staticmethod
    def _key(x: torch.Tensor) -> bytes:
        t = x.detach().to("cpu", torch.float32).contiguous()
        return hashlib.sha1(t.numpy().tobytes(), usedforsecurity=False).digest() + str(tuple(t.shape)).encode()

    def __call__(self, x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``fn(x)`` ``(B, F)``, computing only the rows of images not seen before."""
        keys = [self._key(xi) for xi in x]
        missing = [i for i, k in enumerate(keys) if k not in self.rows]
        if missing:
            with torch.no_grad():
                new = fn(x[missing]).detach().cpu()  # (M, F)
            for j, i in enumerate(missing):
                if len(self.rows) < self.max_items:
                    self.rows[keys[i]] = new[j]
            fresh = {i: new[j] for j, i in enumerate(missing)}
        else:
            fresh = {}
        out = torch.stack([fresh[i] if i in fresh else self.rows[k] for i, k in enumerate(keys)])  # (B, F)
        return out.to(x.device)


MEMOS: dict[str, FrozenFeatureMemo] = {}  # one memo per frozen backbone description (json of its cfg + pooling)


class MultiLayerFusion(nn.Module):
    """Fuses L pooled taps ``[(B, C_l)]`` into one ``(B, out_dim)`` sketch representation (module docstring).

    Args:
        in_dims: widths C_l of the chosen taps, in order.
        out_dim: width of the fused representation.
        proj_dim: width d each tap is projected to.
        mode: ``concat`` (concat of the L projections -> ReLU -> Linear) or ``sum`` (softmax-weighted sum).
        dropout: dropout on each projected tap.

    Example:
        >>> fuse = MultiLayerFusion([16, 32, 64], 128)
        >>> fuse([torch.randn(4, 16), torch.randn(4, 32), torch.randn(4, 64)]).shape
        torch.Size([4, 128])
    """

    def __init__(self, in_dims: Sequence[int], out_dim: int, *, proj_dim: int = 256, mode: str = "concat",
                 dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        if mode not in FUSIONS:
            raise ConfigError(f"ssgn: fusion {mode!r}; expected one of {FUSIONS}")
        if not in_dims:
            raise ConfigError("ssgn: fusion needs at least one layer")
        self.mode, self.in_dims = mode, [int(c) for c in in_dims]
        self.proj = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(c), nn.Linear(c, proj_dim), nn.ReLU(), nn.Dropout(dropout)) for c in in_dims
        )
        if mode == "concat":
            self.out: nn.Module = nn.Linear(proj_dim * len(in_dims), out_dim)
        else:
            self.logits = nn.Parameter(torch.zeros(len(in_dims)))  # (L,) softmax weights of the sum
            self.out = nn.Linear(proj_dim, out_dim)
        self.output_dim = int(out_dim)

    def forward(self, taps: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(taps) != len(self.proj):
            raise ConfigError(f"ssgn: fusion built for {len(self.proj)} layers got {len(taps)}")
        parts = [p(t) for p, t in zip(self.proj, taps, strict=True)]  # L x (B, d)
        if self.mode == "concat":
            return self.out(torch.cat(parts, dim=1))  # (B, L d) -> (B, out)
        w = self.logits.softmax(dim=0)  # (L,)
        fused = torch.stack(parts, dim=0)  # (L, B, d)
        return self.out((w[:, None, None] * fused).sum(dim=0))  # (B, out)
