"""Shared blocks: L2Norm against a naive loop, Mlp against hand-built layers, ConvBnAct shapes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from semspace.errors import ConfigError
from semspace.models.layers import ConvBnAct, L2Norm, Mlp, get_act_layer


def test_l2norm_matches_naive_loop_and_starts_at_tirg_scale() -> None:
    x = torch.randn(5, 7)
    layer = L2Norm()
    assert layer.scale.item() == pytest.approx(4.0)
    out = layer(x)
    for i in range(5):
        norm = math.sqrt(sum(float(v) ** 2 for v in x[i]))
        for j in range(7):
            assert out[i, j].item() == pytest.approx(4.0 * x[i, j].item() / norm, rel=1e-5)


def test_l2norm_scale_learns_or_stays_fixed() -> None:
    x = torch.randn(4, 3)
    learnable = L2Norm(init_scale=2.0)
    learnable(x).sum().backward()
    assert learnable.scale.grad is not None
    fixed = L2Norm(init_scale=2.0, learnable=False)
    assert not fixed.scale.requires_grad
    torch.testing.assert_close(fixed(x).norm(dim=1), torch.full((4,), 2.0))


def test_l2norm_of_zero_rows_is_finite() -> None:
    assert torch.isfinite(L2Norm()(torch.zeros(2, 3))).all()


def test_mlp_without_hidden_layers_is_one_linear() -> None:
    mlp = Mlp(6, (), 4)
    x = torch.randn(3, 6)
    torch.testing.assert_close(mlp(x), x @ mlp.fc.weight.T + mlp.fc.bias)


def test_mlp_hidden_block_is_linear_bn_act_dropout() -> None:
    mlp = Mlp(6, (5, 3), 2, dropout=0.5, batch_norm=True, act="gelu", input_norm=True).eval()
    assert isinstance(mlp.input_norm, nn.BatchNorm1d)
    kinds = [[type(m) for m in block] for block in mlp.blocks]
    assert kinds == [[nn.Linear, nn.BatchNorm1d, nn.GELU, nn.Dropout]] * 2
    assert mlp.blocks[0][0].bias is None  # BN follows, so the Linear has no bias
    x = torch.randn(4, 6)
    torch.testing.assert_close(mlp(x), mlp.fc(_manual(mlp, x)))


def _manual(mlp: Mlp, x: torch.Tensor) -> torch.Tensor:
    h = mlp.input_norm(x)  # (B, F)
    for block in mlp.blocks:
        lin, bn, act = block[0], block[1], block[2]  # dropout is the identity in eval mode
        h = act(bn(lin(h)))  # (B, H_i)
    return h


def test_conv_bn_act_halves_the_map_with_stride_two() -> None:
    block = ConvBnAct(3, 8, 3, stride=2)
    out = block(torch.randn(2, 3, 17, 16))
    assert out.shape == (2, 8, 9, 8)
    assert (out >= 0).all()


def test_unknown_activation_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="relu"):
        get_act_layer("swishy")
    assert get_act_layer(nn.Tanh) is nn.Tanh
