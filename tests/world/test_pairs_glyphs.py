"""Digit glyphs, their rasteriser and the two style spaces of the pairs world."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from semspace.utils.seed import rng_for
from semspace.world.pairs import (
    AStyle,
    BStyle,
    GlyphParams,
    canonical_glyph,
    coverage_mask,
    glyph_strokes,
    paint,
    sample_a_style,
    sample_b_style,
    sample_glyph,
    style_fields,
    style_from_dict,
)
from semspace.world.pairs.glyphs import SKELETONS
from semspace.world.pairs.styles import MIN_LUMA_DIST, MIN_RGB_DIST


def _naive_coverage(params: GlyphParams, size: int) -> np.ndarray:
    """Pixel-by-pixel, segment-by-segment distance to the strokes (the rasteriser's definition)."""
    segs = [(s[i] * size, s[i + 1] * size) for s in glyph_strokes(params) for i in range(len(s) - 1)]
    out = np.zeros((size, size))
    for y in range(size):
        for x in range(size):
            p = np.array([x + 0.5, y + 0.5])
            best = math.inf
            for a, b in segs:
                t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
                best = min(best, float(np.linalg.norm(p - (a + t * (b - a)))))
            out[y, x] = min(max(params.width * size / 2 + 0.5 - best, 0.0), 1.0)
    return out


@pytest.mark.parametrize("digit", [0, 4, 8])
def test_coverage_matches_naive_distance_loop(digit: int) -> None:
    params = sample_glyph(rng_for(3, digit), digit)
    np.testing.assert_allclose(coverage_mask(params, 20), _naive_coverage(params, 20), atol=1e-4)


def test_canonical_glyph_is_the_skeleton() -> None:
    for d in range(10):
        for got, ref in zip(glyph_strokes(canonical_glyph(d)), SKELETONS[d], strict=True):
            np.testing.assert_allclose(got, ref, atol=1e-12)


def test_pen_transform_directions() -> None:
    base = glyph_strokes(GlyphParams(digit=1))[0]  # (0.37, 0.29) -> (0.53, 0.16) -> (0.53, 0.85)
    top, bottom = 1, 2
    slanted = glyph_strokes(GlyphParams(digit=1, slant=0.2))[0]
    assert slanted[top, 0] == pytest.approx(base[top, 0] + 0.2 * (0.5 - base[top, 1]))  # top leans right
    assert slanted[bottom, 0] < base[bottom, 0]  # bottom leans left
    moved = glyph_strokes(GlyphParams(digit=1, dx=0.1, dy=-0.05))[0]
    np.testing.assert_allclose(moved - base, np.broadcast_to([0.1, -0.05], base.shape), atol=1e-12)
    rot = glyph_strokes(GlyphParams(digit=1, rotation=90.0))[0]  # counter-clockwise on screen (y down)
    np.testing.assert_allclose(rot[top], [0.5 + (base[top, 1] - 0.5), 0.5 - (base[top, 0] - 0.5)], atol=1e-12)


def test_bad_digit_raises() -> None:
    with pytest.raises(ValueError, match="digit"):
        glyph_strokes(GlyphParams(digit=10))


def test_canonical_digits_are_distinct() -> None:
    masks = np.stack([coverage_mask(canonical_glyph(d), 32) >= 0.5 for d in range(10)])  # (10, 32, 32)
    assert all(m.sum() > 20 for m in masks)  # every digit is drawn
    inter = np.einsum("ihw,jhw->ij", masks.astype(int), masks.astype(int))  # (10, 10)
    union = masks.sum((1, 2))[:, None] + masks.sum((1, 2))[None, :] - inter
    iou = inter / union
    np.fill_diagonal(iou, 0.0)
    assert iou.max() < 0.65, iou  # 3 vs 8 is the closest pair (3 is half of an 8)


def test_jittered_digits_are_linearly_separable() -> None:
    """A ridge classifier on 24x24 masks of jittered instances must tell the ten classes apart."""

    def data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        r, y = rng_for(seed, 11), np.arange(n) % 10
        x = np.stack([coverage_mask(sample_glyph(r, int(d)), 24).ravel() for d in y])  # (n, 576)
        return np.concatenate([x, np.ones((n, 1))], axis=1), y

    xtr, ytr = data(0, 1000)
    xte, yte = data(1, 300)
    w = np.linalg.solve(xtr.T @ xtr + np.eye(xtr.shape[1]), xtr.T @ np.eye(10)[ytr])  # (577, 10)
    assert (np.argmax(xte @ w, axis=1) == yte).mean() >= 0.95


def test_jittered_glyphs_stay_inside_the_frame() -> None:
    r = rng_for(0, 12)
    for k in range(300):
        m = coverage_mask(sample_glyph(r, k % 10), 32) >= 0.5
        assert not (m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any()), k
        assert m.sum() > 15


def test_glyph_params_json_round_trip() -> None:
    p = sample_glyph(rng_for(1), 7)
    assert GlyphParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def _luma(c: tuple[int, int, int]) -> float:
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255.0


def test_b_styles_keep_ink_legible_and_round_trip() -> None:
    r = rng_for(2)
    styles = [sample_b_style(r) for _ in range(300)]
    for s in styles:
        for back in (s.bg, s.bg2):
            dist = np.linalg.norm((np.array(s.fg) - np.array(back)) / 255.0)
            assert dist >= MIN_RGB_DIST - 0.01 and abs(_luma(s.fg) - _luma(back)) >= MIN_LUMA_DIST - 0.01
        assert style_from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert {s.texture for s in styles} == {"none", "stripes", "checker", "dots", "noise"}
    assert 0.3 < np.mean([s.bg != s.bg2 for s in styles]) < 0.7  # gradients about half the time
    assert len({(s.fg, s.bg) for s in styles}) == len(styles)  # a continuous space: no repeats


def test_a_style_polarity_is_balanced() -> None:
    r = rng_for(4)
    n_white = sum(sample_a_style(r).polarity == "white_on_black" for _ in range(400))
    assert 160 < n_white < 240  # Binomial(400, 1/2): more than 4 sigma either side
    assert style_from_dict(AStyle("black_on_white").to_dict()) == AStyle("black_on_white")


def test_style_fields_flat_gradient_and_light() -> None:
    flat = BStyle(fg=(200, 10, 10), bg=(10, 20, 200), bg2=(10, 20, 200))
    back, ink = style_fields(flat, 16)
    np.testing.assert_allclose(back, np.broadcast_to(np.array([10, 20, 200]) / 255.0, (16, 16, 3)), atol=1e-6)
    np.testing.assert_allclose(ink, np.broadcast_to(np.array([200, 10, 10]) / 255.0, (16, 16, 3)), atol=1e-6)
    grad = BStyle(fg=(255, 255, 255), bg=(0, 0, 0), bg2=(200, 200, 200), gradient_angle=0.0)
    back, _ = style_fields(grad, 16)
    assert np.all(np.diff(back[..., 0], axis=1) > 0) and np.allclose(np.diff(back[..., 0], axis=0), 0)
    lit = BStyle(fg=(255, 255, 255), bg=(100, 100, 100), bg2=(100, 100, 100), light_angle=90.0, ramp=0.4)
    back, ink = style_fields(lit, 16)  # light from below: bottom rows brighter, by at most the ramp
    assert np.all(np.diff(back[..., 0], axis=0) > 0) and np.all(np.diff(ink[..., 0], axis=0) > 0)
    assert back[..., 0].min() >= (1 - 0.4) * 100 / 255 - 1e-6 and back[..., 0].max() <= 100 / 255 + 1e-6


def test_paint_blends_background_and_ink() -> None:
    style = sample_b_style(rng_for(9))
    cov = np.zeros((16, 16), np.float32)
    cov[4:8, 4:8] = 1.0
    img = paint(cov, style)
    back, ink = style_fields(style, 16)
    assert img.dtype == np.uint8 and img.shape == (16, 16, 3)
    np.testing.assert_array_equal(img[0, 0], np.rint(back[0, 0] * 255))
    np.testing.assert_array_equal(img[5, 5], np.rint(ink[5, 5] * 255))
    a = paint(cov, AStyle("black_on_white"))
    assert (a[5, 5] == 0).all() and (a[0, 0] == 255).all()
