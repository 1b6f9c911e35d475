"""EGSC-IT's AdaIN (both forms) and feature masks against direct formulas (models/egsc_it/layers.py)."""

from __future__ import annotations

import pytest
import torch

from semspace.models.egsc_it.layers import EPS, adain, feature_mask, skew_sign, style_stats
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


def _digit(shape: tuple[int, ...] = (1, 2, 8, 8)) -> torch.Tensor:
    """A minority "digit" region: 1 on 8 of 64 pixels, 0 elsewhere (every channel)."""
    m = torch.zeros(shape, dtype=torch.float64)
    m[..., 2:4, 2:6] = 1
    return m


def test_skew_sign_is_the_side_of_the_minority() -> None:
    m = _digit()
    assert (skew_sign(m) == 1).all() and (skew_sign(-m) == -1).all() and (skew_sign(1 - m) == -1).all()
    assert (skew_sign(torch.zeros(1, 2, 4, 4)) == 1).all()  # a flat map: +1, never 0


@pytest.mark.parametrize("content_sign", [1.0, -1.0])
@pytest.mark.parametrize("exemplar_sign", [1.0, -1.0])
def test_signed_form_puts_the_content_minority_on_the_exemplar_minority(
    content_sign: float, exemplar_sign: float
) -> None:
    m = _digit()
    h = content_sign * 2.0 * m + 0.3  # the content's digit above (or below) its background
    f = exemplar_sign * 3.0 * m + 1.0  # the exemplar's digit above (or below) its background
    digit = m.bool()
    out = adain(h, *style_stats(f, "signed"), "signed")
    torch.testing.assert_close(out[digit], f[digit], atol=1e-4, rtol=1e-4)  # the digit gets the exemplar's fg value
    torch.testing.assert_close(out[~digit], f[~digit], atol=1e-4, rtol=1e-4)
    textbook = adain(h, *style_stats(f, "textbook"), "textbook")
    # textbook AdaIN keeps the content's sign: right only when the two signs agree
    assert torch.allclose(textbook[digit], f[digit], atol=1e-4) == (content_sign == exemplar_sign)


def test_signed_form_has_the_textbook_moments(maps: tuple[torch.Tensor, torch.Tensor]) -> None:
    h, f = maps
    out = adain(h, *style_stats(f, "signed"), "signed")
    mu_f, var_f = _moments_loop(f)
    mu_out, var_out = _moments_loop(out)
    torch.testing.assert_close(mu_out, mu_f, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(var_out, var_f, atol=1e-4, rtol=1e-4)
    same = (skew_sign(h) == skew_sign(f)).squeeze()  # where the signs agree it is the textbook form
    textbook = adain(h, *style_stats(f, "textbook"), "textbook")
    torch.testing.assert_close(out[same], textbook[same])
    assert not torch.allclose(out[~same], textbook[~same])
