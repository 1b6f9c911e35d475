"""SSGN's coarse-to-fine decoder and the single-stage and CVAE baselines (models/ssgn/decoder.py)."""

from __future__ import annotations

import torch

from semspace.models.ssgn.decoder import CoarseToFineDecoder, CvaeDecoder, SingleStageDecoder


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
