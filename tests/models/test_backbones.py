"""SmallCnnBackbone: the timm backbone contract and the intermediate maps SSGN's fusion needs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models.backbones import SmallCnnBackbone


def _backbone(**kw: object) -> SmallCnnBackbone:
    torch.manual_seed(0)
    args = {"in_chans": 3, "widths": (4, 6, 8), "depths": (1, 2, 1), "strides": (1, 2, 2)}
    args.update(kw)
    return SmallCnnBackbone(**args).eval()  # type: ignore[arg-type]


def test_intermediates_follow_feature_info_and_end_in_forward_features() -> None:
    net = _backbone()
    x = torch.randn(2, 3, 32, 32)
    maps = net.forward_intermediates(x)
    assert [m.shape for m in maps] == [
        (2, info["num_chs"], 32 // info["reduction"], 32 // info["reduction"]) for info in net.feature_info
    ]
    torch.testing.assert_close(maps[-1], net.forward_features(x))
    assert sum(len(stage) for stage in net.stages) == 4  # depths (1, 2, 1)


def test_forward_head_pre_logits_is_global_average_pooling() -> None:
    net = _backbone()
    maps = net.forward_features(torch.randn(2, 3, 16, 16))  # (2, 8, 4, 4)
    pooled = net.forward_head(maps, pre_logits=True)
    naive = torch.stack([torch.stack([maps[b, c].sum() / maps[b, c].numel() for c in range(8)]) for b in range(2)])
    torch.testing.assert_close(pooled, naive)


def test_reset_classifier_adds_and_removes_the_head() -> None:
    net = _backbone(num_classes=5)
    x = torch.randn(2, 3, 16, 16)
    assert net(x).shape == (2, 5)
    assert net.forward_head(net.forward_features(x), pre_logits=True).shape == (2, 8)
    net.reset_classifier(0)
    assert isinstance(net.head, nn.Identity) and net(x).shape == (2, 8)


def test_one_lock_group_per_stage() -> None:
    net = _backbone()
    assert net.lock_groups() == list(net.stages)


@pytest.mark.parametrize("kw", [{"depths": (1, 1)}, {"widths": (4, 0, 8)}, {"strides": (1, 2, -1)}])
def test_inconsistent_stage_lists_raise(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="small CNN"):
        _backbone(**kw)
