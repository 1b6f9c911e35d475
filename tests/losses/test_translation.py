"""EGSC-IT's losses (losses/translation.py) against direct formulas on tiny inputs."""

from __future__ import annotations

import torch

from semspace.losses import create_loss
from semspace.losses.translation import gram


def _t(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_lsgan_terms() -> None:
    real, fake = _t(2, 1, 3, 3), _t(2, 1, 3, 3, seed=1)
    n = real.numel()
    g = sum(float((v - 1) ** 2) for v in fake.flatten()) / n
    d = 0.5 * (sum(float((v - 1) ** 2) for v in real.flatten()) / n + sum(float(v**2) for v in fake.flatten()) / n)
    assert abs(float(create_loss("lsgan_generator")(fake)) - g) < 1e-12
    assert abs(float(create_loss("lsgan_discriminator")(real, fake)) - d) < 1e-12


def test_latent_kl_is_the_mean_square() -> None:
    mu = _t(2, 3, 2, 2)
    assert abs(float(create_loss("latent_kl")(mu)) - sum(float(v * v) for v in mu.flatten()) / mu.numel()) < 1e-12


def test_gram_against_a_loop() -> None:
    f = _t(2, 3, 2, 4)
    g = gram(f)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                want = sum(float(f[b, i, y, x] * f[b, j, y, x]) for y in range(2) for x in range(4)) / 8
                assert abs(float(g[b, i, j]) - want) < 1e-12


def test_perceptual_content_weights_deeper_taps_more() -> None:
    fx = [_t(2, 3, 4, 4, seed=i) for i in range(5)]
    fy = [_t(2, 3, 4, 4, seed=10 + i) for i in range(5)]
    want = sum((i + 1) / 5 * float((a - b).abs().mean()) for i, (a, b) in enumerate(zip(fx, fy, strict=True)))
    assert abs(float(create_loss("perceptual_content")(fx, fy)) - want) < 1e-12


def test_perceptual_style_compares_grams() -> None:
    fx = [_t(2, 3, 4, 4, seed=i) for i in range(3)]
    fy = [_t(2, 3, 2, 2, seed=10 + i) for i in range(3)]  # Gram matrices compare maps of other sizes
    want = sum(float((gram(a) - gram(b)).abs().mean()) for a, b in zip(fx, fy, strict=True))
    assert abs(float(create_loss("perceptual_style")(fx, fy)) - want) < 1e-12
    assert float(create_loss("perceptual_style")(fx, fx)) == 0.0
