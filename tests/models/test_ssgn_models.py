"""SSGN's fusion, decoders and class semantics (models/ssgn_*.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semspace.errors import ConfigError, DataError
from semspace.models import create_model
from semspace.models.ssgn_decoder import CoarseToFineDecoder, CvaeDecoder, SingleStageDecoder
from semspace.models.ssgn_fusion import FrozenFeatureMemo, MultiLayerFusion, backbone_taps, pool, tap_widths
from semspace.models.ssgn_semantics import class_semantics, letters, read_npz_semantics


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


def test_coarse_to_fine_stage_one_depends_on_semantics_only_and_stage_two_refines_it() -> None:
    torch.manual_seed(0)
    dec = CoarseToFineDecoder(semantic_dim=6, sketch_dim=10, out_dim=8, hidden=16, noise_dim=4).eval()
    s, h = torch.randn(3, 6), torch.randn(3, 10)
    out = dec(s, h)
    assert out["coarse"].shape == out["fine"].shape == (3, 8)
    torch.testing.assert_close(dec(s, torch.randn(3, 10))["coarse"], out["coarse"])  # stage 1 ignores the sketch
    assert not torch.allclose(dec(torch.randn(3, 6), h)["coarse"], out["coarse"])
    z = torch.zeros(3, 4)  # test time: noise at its mean
    torch.testing.assert_close(out["coarse"], dec.stage1(torch.cat([s, z], 1)))
    torch.testing.assert_close(out["fine"], out["coarse"] + dec.stage2(torch.cat([out["coarse"], h, z], 1)))
    torch.testing.assert_close(dec.fine(out["coarse"], h), out["fine"])
    dec.train()
    assert not torch.allclose(dec(s, h)["fine"], dec(s, h)["fine"])  # training noise


def test_single_stage_and_cvae_decoders() -> None:
    single = SingleStageDecoder(semantic_dim=6, sketch_dim=10, out_dim=8, hidden=16).eval()
    assert set(single(torch.randn(2, 6), torch.randn(2, 10))) == {"fine"}
    cvae = CvaeDecoder(sketch_dim=10, out_dim=8, hidden=16, latent_dim=3)
    h, f = torch.randn(4, 10), torch.randn(4, 8)
    train = cvae(h, f)
    assert train["fine"].shape == (4, 8) and train["mu"].shape == train["logvar"].shape == (4, 3)
    cvae.eval()
    test = cvae(h)
    torch.testing.assert_close(test["fine"], cvae.decoder(torch.cat([torch.zeros(4, 3), h], 1)))


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


def test_semantics_sources(tmp_path) -> None:
    att = class_semantics("attributes", ["cup", "mug"])
    assert att.shape == (2, 123) and np.allclose(np.linalg.norm(att, axis=1), 1)
    with pytest.raises(DataError, match="teddy"):
        class_semantics("attributes", ["cup", "teddy_bear"])
    with pytest.raises(ConfigError, match="semantics"):
        class_semantics("glove", ["cup"])
    path = tmp_path / "w.npz"
    np.savez(path, class_names=np.array(["teddy_bear", "table_lamp"]), vectors=np.array([[3.0, 4.0], [0.0, 2.0]]))
    rows = read_npz_semantics(path, ["teddy-bear", "tablelamp"])  # matched by letters only
    np.testing.assert_allclose(rows, [[3, 4], [0, 2]])
    np.testing.assert_allclose(class_semantics(f"npz:{path}", ["teddy bear"]), [[0.6, 0.8]])
    with pytest.raises(DataError, match="no side information.*'eye'"):
        read_npz_semantics(path, ["teddy bear", "eye"])
    assert letters("Hot-Air_Balloon 2") == "hotairballoon"
