"""SSGN's multi-layer fusion: pooled backbone taps, the two fusion modes, the frozen-feature memo
(models/ssgn/fusion.py)."""

from __future__ import annotations

import pytest
import torch

from semspace.errors import ConfigError
from semspace.models import create_model
from semspace.models.ssgn.fusion import FrozenFeatureMemo, MultiLayerFusion, backbone_taps, pool, tap_widths


def test_taps_of_small_cnn_have_one_pooled_vector_per_stage() -> None:
    enc = create_model("tiny_cnn", embed_dim=0)
    x = torch.randn(3, 3, 32, 32)
    taps = backbone_taps(enc, x, "avgmax")
    assert [t.shape for t in taps] == [torch.Size([3, 16]), torch.Size([3, 32]), torch.Size([3, 64])]
    assert tap_widths(enc, 32, 3, "avg") == [8, 16, 32]
    maps = enc.forward_intermediates(x)
    torch.testing.assert_close(taps[1][:, :16], maps[1].mean(dim=(2, 3)))  # avg first, then max
    torch.testing.assert_close(taps[1][:, 16:], maps[1].amax(dim=(2, 3)))
    with pytest.raises(ConfigError, match="pooling"):
        pool(maps[0], "median")


@pytest.mark.parametrize("mode", ["concat", "sum"])
def test_fusion_maps_any_number_of_layers_to_the_output_width(mode: str) -> None:
    fuse = MultiLayerFusion([8, 16, 32], 24, proj_dim=12, mode=mode)
    out = fuse([torch.randn(5, 8), torch.randn(5, 16), torch.randn(5, 32)])
    assert out.shape == (5, 24)
    one = MultiLayerFusion([32], 24, proj_dim=12, mode=mode)  # the no-fusion ablation: one layer
    assert one([torch.randn(5, 32)]).shape == (5, 24)
    out.sum().backward()
    assert all(p.grad is not None for p in fuse.parameters())  # every layer contributes
    with pytest.raises(ConfigError, match="2 layers|3 layers"):
        fuse([torch.randn(5, 8), torch.randn(5, 16)])


def test_sum_fusion_is_the_softmax_weighted_sum_of_the_projections() -> None:
    fuse = MultiLayerFusion([4, 6], 3, proj_dim=5, mode="sum").eval()
    with torch.no_grad():
        fuse.logits.copy_(torch.tensor([0.3, -1.0]))
    taps = [torch.randn(2, 4), torch.randn(2, 6)]
    w = torch.softmax(torch.tensor([0.3, -1.0]), 0)
    expected = fuse.out(w[0] * fuse.proj[0](taps[0]) + w[1] * fuse.proj[1](taps[1]))
    torch.testing.assert_close(fuse(taps), expected)


def test_memo_computes_each_distinct_image_once() -> None:
    memo, calls = FrozenFeatureMemo(), []

    def fn(x: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return x.flatten(1)[:, :3] * 2

    x = torch.randn(4, 1, 2, 2)
    first = memo(x, fn)
    again = memo(torch.cat([x[2:], torch.randn(1, 1, 2, 2)]), fn)
    assert calls == [4, 1]
    torch.testing.assert_close(again[:2], first[2:])
