"""Rasterising glyphs and painting them in a domain style.

A glyph becomes an anti-aliased *coverage* mask through an exact distance field: the coverage of a pixel
centre at distance ``d`` (pixels) from the nearest stroke segment is ``clip(w / 2 + 1 / 2 - d, 0, 1)`` for
stroke width ``w``. An image in either domain is then the linear blend

    image = background_field * (1 - coverage) + ink_field * coverage,

where both fields depend on the style and the image size only, never on the content. This is what makes
the ground-truth translation exact (DESIGN §3, EGSC-IT's MNIST-Single ground truth): the target of a
source/exemplar pair shares the source's coverage pixel for pixel and the exemplar's fields pixel for
pixel.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from semspace.utils.seed import rng_for
from semspace.world.pairs.glyphs import GlyphParams, glyph_strokes
from semspace.world.pairs.styles import AStyle, BStyle

_TEXTURE_NOISE_KEY = 0x7E47


def coverage_mask(params: GlyphParams, size: int) -> np.ndarray:
    """The anti-aliased ink coverage of a glyph.

    Args:
        params: the handwritten instance.
        size: image side in pixels.

    Returns:
        ``(size, size)`` float32 in ``[0, 1]``; ``>= 0.5`` is the glyph's binary foreground.
    """
    strokes = glyph_strokes(params)
    a = np.concatenate([s[:-1] for s in strokes]).astype(np.float32) * size  # (S, 2) segment starts, pixels
    b = np.concatenate([s[1:] for s in strokes]).astype(np.float32) * size  # (S, 2) segment ends
    half = 0.5 * params.width * size
    reach = half + 1.0
    lo = np.floor(np.minimum(a, b).min(axis=0) - reach).clip(0, size).astype(int)  # (2,) bbox of the ink
    hi = np.ceil(np.maximum(a, b).max(axis=0) + reach).clip(0, size).astype(int)  # (2,)
    out = np.zeros((size, size), dtype=np.float32)
    if (hi <= lo).any():
        return out
    xs = np.arange(lo[0], hi[0], dtype=np.float32) + 0.5  # (W',) pixel centres
    ys = np.arange(lo[1], hi[1], dtype=np.float32) + 0.5  # (H',)
    px = np.broadcast_to(xs[None, :], (len(ys), len(xs))).reshape(-1, 1)  # (N, 1)
    py = np.broadcast_to(ys[:, None], (len(ys), len(xs))).reshape(-1, 1)  # (N, 1)
    d = b - a  # (S, 2)
    inv_len2 = 1.0 / np.maximum((d * d).sum(axis=1), 1e-12)  # (S,)
    wx, wy = px - a[:, 0], py - a[:, 1]  # (N, S)
    t = np.clip((wx * d[:, 0] + wy * d[:, 1]) * inv_len2, 0.0, 1.0)  # (N, S) closest point parameter
    ex, ey = wx - t * d[:, 0], wy - t * d[:, 1]  # (N, S)
    dist = np.sqrt((ex * ex + ey * ey).min(axis=1))  # (N,)
    cov = np.clip(half + 0.5 - dist, 0.0, 1.0)  # (N,)
    out[lo[1] : hi[1], lo[0] : hi[0]] = cov.reshape(len(ys), len(xs))
    return out


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5  # (S,) pixel centres in [-0.5, 0.5]
    return np.meshgrid(c, c, indexing="xy")  # (H, W) x to the right, (H, W) y down


def _ramp(u: np.ndarray, v: np.ndarray, angle_deg: float) -> np.ndarray:
    """Projection on a direction, scaled to [-1, 1] over the image."""
    th = math.radians(angle_deg)
    cx, cy = math.cos(th), math.sin(th)
    return (u * cx + v * cy) / (0.5 * (abs(cx) + abs(cy)))  # (H, W)


def _texture(style: BStyle, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The background texture pattern in [-1, 1] (zeros for ``none``)."""
    if style.texture == "none" or style.texture_amp == 0.0:
        return np.zeros_like(u)
    f = 1.0 / style.texture_period
    th = math.radians(style.texture_angle)
    p = (u * math.cos(th) + v * math.sin(th)) * f  # (H, W) in periods
    q = (-u * math.sin(th) + v * math.cos(th)) * f  # (H, W)
    if style.texture == "stripes":
        return np.tanh(3.0 * np.sin(2 * math.pi * p)) / math.tanh(3.0)
    if style.texture == "checker":
        return np.tanh(6.0 * np.sin(2 * math.pi * p) * np.sin(2 * math.pi * q)) / math.tanh(6.0)
    if style.texture == "dots":
        r = np.hypot(p - np.round(p), q - np.round(q))  # (H, W) distance to the nearest lattice point
        return np.clip((0.25 - r) * 20.0, -1.0, 1.0)
    if style.texture == "noise":
        g = int(math.ceil(f)) + 1
        lattice = rng_for(style.texture_seed, _TEXTURE_NOISE_KEY).uniform(-1.0, 1.0, size=(g + 1, g + 1))
        x, y = (u + 0.5) * g, (v + 0.5) * g  # (H, W) lattice coordinates
        x0, y0 = np.floor(x).astype(int).clip(0, g - 1), np.floor(y).astype(int).clip(0, g - 1)
        fx, fy = x - x0, y - y0  # (H, W) bilinear weights
        top = lattice[y0, x0] * (1 - fx) + lattice[y0, x0 + 1] * fx
        bot = lattice[y0 + 1, x0] * (1 - fx) + lattice[y0 + 1, x0 + 1] * fx
        return (top * (1 - fy) + bot * fy).astype(np.float32)
    raise ValueError(f"unknown texture {style.texture!r}")


@lru_cache(maxsize=32)
def style_fields(style: AStyle | BStyle, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The background and ink fields of a style: what coverage 0 and coverage 1 look like at each pixel.

    Returns:
        ``(background, ink)``, each ``(size, size, 3)`` float32 in ``[0, 1]`` (read-only, cached).
    """
    if isinstance(style, AStyle):
        bg = np.broadcast_to(np.asarray(style.bg, np.float32) / 255.0, (size, size, 3))
        ink = np.broadcast_to(np.asarray(style.fg, np.float32) / 255.0, (size, size, 3))
        return bg, ink
    u, v = _grid(size)
    t = 0.5 * (_ramp(u, v, style.gradient_angle) + 1.0)  # (H, W) 0 at bg, 1 at bg2
    c0, c1 = np.asarray(style.bg, np.float32) / 255.0, np.asarray(style.bg2, np.float32) / 255.0  # (3,)
    shade = 1.0 - style.ramp * 0.5 * (1.0 - _ramp(u, v, style.light_angle))  # (H, W) 1 towards the light
    back = c0 + (c1 - c0) * t[..., None]  # (H, W, 3)
    back = np.clip(back * (1.0 + style.texture_amp * _texture(style, u, v))[..., None] * shade[..., None], 0, 1)
    ink = np.clip(np.asarray(style.fg, np.float32) / 255.0 * shade[..., None], 0, 1)  # (H, W, 3)
    back, ink = back.astype(np.float32), ink.astype(np.float32)
    back.setflags(write=False)
    ink.setflags(write=False)
    return back, ink


def paint(coverage: np.ndarray, style: AStyle | BStyle) -> np.ndarray:
    """Paints a coverage mask in a style.

    Args:
        coverage: ``(H, W)`` float in ``[0, 1]`` (square).
        style: a domain-A or domain-B style.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    back, ink = style_fields(style, coverage.shape[0])
    img = back + (ink - back) * coverage[..., None]  # (H, W, 3)
    return np.rint(img * 255.0).astype(np.uint8)


def render_glyph(params: GlyphParams, style: AStyle | BStyle, size: int) -> np.ndarray:
    """One digit image: ``paint(coverage_mask(params, size), style)``, ``(size, size, 3)`` uint8."""
    return paint(coverage_mask(params, size), style)
