"""The photo view: filled, coloured, textured and shaded parts on a varied background.

Drawn at twice the output size with Pillow masks and numpy compositing, then box-downsampled (anti-aliasing).
Within-class variation comes from the ``PhotoSpec``: main/second colour, texture (stripes, dots, speckles,
checks), pose, background (plain, gradient, floor, noise, wallpaper stripes) and lighting (shading direction
and strength, brightness, contrast, ground shadow, sensor noise).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from einops import reduce
from PIL import Image, ImageDraw

from semspace.world.objects.catalog import build_parts
from semspace.world.objects.layout import Placed, place
from semspace.world.objects.parts import Jitter
from semspace.world.objects.spec import FIXED_ROLES, PhotoSpec


@lru_cache(maxsize=8)
def _grid(s: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)  # (S, S) each
    return x, y


def _smooth_noise(rng: np.random.Generator, s: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a ``cells`` x ``cells`` random grid upsampled bicubically to ``s`` x ``s``."""
    small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(small.resize((s, s), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0  # (S, S)


def _background(spec: PhotoSpec, s: int, rng: np.random.Generator) -> np.ndarray:
    x, y = _grid(s)
    c1 = np.asarray(spec.bg_rgb, dtype=np.float32) / 255.0
    c2 = np.asarray(spec.bg_rgb2, dtype=np.float32) / 255.0
    if spec.background == "gradient":
        a = np.deg2rad(spec.bg_angle)
        t = ((x - s / 2) * np.cos(a) + (y - s / 2) * np.sin(a)) / s + 0.5  # (S, S)
        return c1 * (1 - t[..., None]) + c2 * t[..., None]
    if spec.background == "floor":
        floor = (y > spec.horizon * s)[..., None]  # (S, S, 1)
        depth = np.clip((y - spec.horizon * s) / s, 0, 1)[..., None] * 0.6
        return np.where(floor, c2 * (0.85 + depth), c1 + 0 * x[..., None])
    if spec.background == "noise":
        return c1 * (0.85 + 0.3 * _smooth_noise(rng, s, 6))[..., None]
    if spec.background == "stripes":
        a = np.deg2rad(spec.bg_angle)
        band = (np.sin((x * np.cos(a) + y * np.sin(a)) * 2 * np.pi / (s / 7)) > 0)[..., None]  # (S, S, 1)
        return np.where(band, c1, c1 * 0.88 + c2 * 0.12)
    return np.broadcast_to(c1, (s, s, 3)).copy()


def _texture(spec: PhotoSpec, s: int, rng: np.random.Generator) -> np.ndarray | None:
    """Pattern weight in [0, 1] over the canvas, or None for a plain material."""
    if spec.texture == "plain":
        return None
    x, y = _grid(s)
    a = np.deg2rad(spec.texture_angle)
    u, v = x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)  # (S, S) rotated coordinates
    p = spec.texture_period * s / 64.0
    if spec.texture == "striped":
        return (np.sin(u * 2 * np.pi / (2 * p)) > 0).astype(np.float32)
    if spec.texture == "dotted":
        du, dv = np.mod(u, 2 * p) - p, np.mod(v, 2 * p) - p
        return (du * du + dv * dv < (0.55 * p) ** 2).astype(np.float32)
    if spec.texture == "checkered":
        return (np.mod(np.floor(u / p) + np.floor(v / p), 2)).astype(np.float32)
    return np.clip(_smooth_noise(rng, s, 14) * 2.2 - 0.7, 0, 1)  # speckled


def _mask(pl: Placed, s: int) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    img = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(img)
    pts = [tuple(p) for p in pl.points]
    if pl.shape.kind == "line":
        if pl.shape.closed:
            pts = pts + pts[:1]
        draw.line(pts, fill=255, width=max(1, round(pl.width)), joint="curve")
    else:
        draw.polygon(pts, fill=255)
    box = img.getbbox()
    if box is None:
        return None
    return np.asarray(img.crop(box), dtype=np.float32) / 255.0, box  # (h, w), (x0, y0, x1, y1)


def render_photo(spec: PhotoSpec, size: int = 64) -> np.ndarray:
    """The photo of ``spec`` as an ``(size, size, 3)`` uint8 RGB array."""
    s = 2 * size
    rng = np.random.default_rng(spec.detail_seed)
    placed = place(build_parts(spec.category, Jitter(np.random.default_rng(spec.geometry_seed))), spec.pose, s)
    img = _background(spec, s, rng).astype(np.float32)  # (S, S, 3)
    x, y = _grid(s)
    if spec.shadow > 0:
        allp = np.concatenate([p.points for p in placed])  # (M, 2)
        cx, bottom, half_w = allp[:, 0].mean(), allp[:, 1].max(), np.ptp(allp[:, 0]) * 0.45 + 1.0
        d = ((x - cx) / half_w) ** 2 + ((y - bottom) / (0.05 * s)) ** 2
        img *= (1.0 - spec.shadow * np.exp(-d))[..., None]
    tex = _texture(spec, s, rng)
    colors = {r: np.asarray(c, dtype=np.float32) / 255.0 for r, c in FIXED_ROLES.items()}
    colors["main"] = np.asarray(spec.color_rgb, dtype=np.float32) / 255.0
    colors["second"] = np.asarray(spec.second_rgb, dtype=np.float32) / 255.0
    pattern = colors["main"] * 0.5 + (0.5 if spec.texture_light else 0.0)
    la = np.deg2rad(spec.light_angle)
    ldir = np.array([np.cos(la), np.sin(la)], dtype=np.float32)
    for pl in placed:
        got = _mask(pl, s)
        if got is None:
            continue
        m, (x0, y0, x1, y1) = got
        lo, hi = pl.points.min(axis=0), pl.points.max(axis=0)
        c, r = 0.5 * (lo + hi), 0.5 * float(np.linalg.norm(hi - lo)) + 2.0
        g = 1.0 + spec.shading * ((x[y0:y1, x0:x1] - c[0]) * ldir[0] + (y[y0:y1, x0:x1] - c[1]) * ldir[1]) / r
        col = np.broadcast_to(colors[pl.shape.role], (*m.shape, 3))
        if pl.shape.role == "main" and tex is not None:
            t = tex[y0:y1, x0:x1, None]  # (h, w, 1)
            col = col * (1 - t) + pattern * t
        col = col * g[..., None]  # (h, w, 3)
        if pl.shape.kind == "fill" and min(m.shape) > 6:
            edge = m - np.minimum.reduce([m, np.roll(m, 1, 0), np.roll(m, -1, 0), np.roll(m, 1, 1), np.roll(m, -1, 1)])
            col = col * (1.0 - 0.3 * edge[..., None])
        region = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = region * (1 - m[..., None]) + col * m[..., None]
    img = reduce(img, "(h a) (w b) c -> h w c", "mean", a=2, b=2)  # (size, size, 3) anti-aliased
    img = (img - 0.5) * spec.contrast + 0.5
    img = img * spec.brightness + rng.normal(0.0, spec.noise, img.shape).astype(np.float32)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
