"""EGSC-IT's AdaIN (both forms) and feature masks against direct formulas (models/egsc_it/layers.py)."""

from __future__ import annotations

import pytest
import torch

from semspace.models.egsc_it.layers import EPS, adain, feature_mask, style_stats
from semspace.models.egsc_it.translator import DomainDecoder


def _moments_loop(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    b, c = x.shape[:2]
    mu, var = torch.zeros(b, c, 1, 1, dtype=x.dtype), torch.zeros(b, c, 1, 1, dtype=x.dtype)
    for i in range(b):
        for j in range(c):
            v = x[i, j].flatten()
            mu[i, j] = v.sum() / v.numel()
            var[i, j] = ((v - mu[i, j]) ** 2).sum() / v.numel()
    return mu, var


@pytest.fixture
def maps() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64) * 2 + 1
    f = torch.rand(2, 3, 3, 3, generator=g, dtype=torch.float64) * 3
    return h, f


def test_code_form_divides_by_the_variance_and_adds_the_variance(maps: tuple[torch.Tensor, torch.Tensor]) -> None:
    h, f = maps
    mu_h, var_h = _moments_loop(h)
    mu_f, var_f = _moments_loop(f)
    gamma, beta = mu_f - 1, var_f  # the authors' code: gamma = mean(f) - 1, beta = var(f)
    expected = (1 + gamma) * (h - mu_h) / (var_h + EPS) + beta
    scale, bias = style_stats(f, "code")
    torch.testing.assert_close(adain(h, scale, bias, "code"), expected)


def test_textbook_form_uses_the_standard_deviation(maps: tuple[torch.Tensor, torch.Tensor]) -> None:
    h, f = maps
    mu_h, var_h = _moments_loop(h)
    mu_f, var_f = _moments_loop(f)
    expected = torch.sqrt(var_f + EPS) * (h - mu_h) / torch.sqrt(var_h + EPS) + mu_f
    scale, bias = style_stats(f, "textbook")
    out = adain(h, scale, bias, "textbook")
    torch.testing.assert_close(out, expected)
    _, var_out = _moments_loop(out)  # textbook AdaIN gives h the exemplar's moments
    torch.testing.assert_close(var_out, var_f, atol=1e-4, rtol=1e-4)


def test_the_two_forms_differ(maps: tuple[torch.Tensor, torch.Tensor]) -> None:
    h, f = maps
    a = adain(h, *style_stats(f, "code"), "code")
    b = adain(h, *style_stats(f, "textbook"), "textbook")
    assert not torch.allclose(a, b)


def test_unknown_form_is_refused(maps: tuple[torch.Tensor, torch.Tensor]) -> None:
    h, f = maps
    with pytest.raises(ValueError, match="textbook"):
        style_stats(f, "nope")  # type: ignore[arg-type]


def test_feature_mask_formula_and_resize() -> None:
    f = torch.tensor([[[[-100.0, 0.0], [2.0, 100.0]]]])  # (1, 1, 2, 2)
    m = feature_mask(f, (2, 2))
    expected = 0.5 / (1 + torch.exp(-f)) + 0.5
    torch.testing.assert_close(m, expected)
    assert float(m.min()) >= 0.5 and float(m.max()) <= 1.0
    big = feature_mask(f, (4, 4))
    assert big.shape == (1, 1, 4, 4)
    torch.testing.assert_close(big, torch.nn.functional.interpolate(expected, size=(4, 4), mode="bilinear"))


def test_decoder_applies_the_mask_then_adain() -> None:
    torch.manual_seed(0)
    dec = DomainDecoder(channels=3, n_down=0, n_res=1).double()
    h = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    f_mask = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    style = style_stats(torch.rand(1, 3, 4, 4, dtype=torch.float64), "textbook")
    got = dec(h, mask=f_mask, style=style, form="textbook")
    inner = adain(feature_mask(f_mask, (4, 4)) * h, *style, "textbook")
    torch.testing.assert_close(got, torch.tanh(dec.up(dec.res(inner))))
    assert not torch.allclose(got, dec(h, style=style, form="textbook"))  # the mask changes the output
