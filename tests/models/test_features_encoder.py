"""MlpFeaturesEncoder: shapes, input checks, lock groups."""

from __future__ import annotations

import pytest
import torch

from semspace.errors import ConfigError, DataError
from semspace.models import MlpFeaturesEncoder


def _enc(**kw: object) -> MlpFeaturesEncoder:
    torch.manual_seed(0)
    cfg = {"in_dim": 10, "hidden_dims": (12, 8), "embed_dim": 4}
    cfg.update(kw)
    return MlpFeaturesEncoder(cfg)


def test_mlp_features_maps_b_f_to_b_d() -> None:
    enc = _enc()
    assert enc.encode(torch.randn(5, 10)).shape == (5, 4) and enc.output_dim == 4
    assert enc.input_kind == "features"
    assert enc.encode(torch.randn(3, 10, dtype=torch.float64)).dtype == torch.float32


@pytest.mark.parametrize("bad", [torch.randn(5, 9), torch.randn(10)])
def test_mlp_features_rejects_other_feature_sizes(bad: torch.Tensor) -> None:
    with pytest.raises(DataError, match=r"\(B, 10\)"):
        _enc().encode(bad)


def test_mlp_features_lock_keeps_the_output_layer_trainable() -> None:
    enc = _enc(input_norm=True)
    assert len(enc.lock_groups()) == 2
    enc.lock(1)
    assert not any(p.requires_grad for p in enc.mlp.input_norm.parameters())
    assert not any(p.requires_grad for p in enc.mlp.blocks[0].parameters())
    assert all(p.requires_grad for p in enc.mlp.blocks[1].parameters())
    assert all(p.requires_grad for p in enc.mlp.fc.parameters())


def test_mlp_features_invalid_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="positive"):
        _enc(hidden_dims=(0,))
    with pytest.raises(ConfigError, match="in_dim"):
        _enc(in_dims=3)
