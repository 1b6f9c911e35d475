"""The ``blobs2d`` view: flat 2D blobs on a white canvas, after TIRG's CSS 2D renderer.

TIRG (Vo et al., arXiv:1812.07119; google/tirg ``datasets.py``, ``CSSDataset.get_img(get_2d=True)``) draws
each CSS object on a white 64x64 canvas as a filled square, "circle" or triangle of half-size
s = 4 px (small) or 8 px (large) in one of eight colours; this is the "synthesized 2D blobs" source
domain that LTT (arXiv:1903.00793) transfers transformations from. We keep its canvas, sizes
(scaled with the image side), palette and shapes, with three deliberate differences:

* positions come from our 3x3 grid (cell centre plus a small jitter that keeps the blob in its cell);
* the circle is a true disc (CSS's row formula ``x0 = x + |y0 - y| - s`` actually draws a diamond;
  ``circle="diamond"`` reproduces it);
* edges are anti-aliased by supersampling each pixel on an ``ss x ss`` grid (vectorised numpy masks).

The triangle is CSS's: apex up, base 2s wide at the bottom (rows ``x0 = x + (y0 - y + s) / 2``).
"""

from __future__ import annotations

import numpy as np
from einops import reduce

from semspace.world.palette import CSS_COLORS
from semspace.world.scenes.spec import GRID, SHAPES_2D, SceneSpec

CSS_SIDE = 64  # the CSS canvas side in pixels; half-sizes below are for this side and scale with it
HALF_SIZE = {"small": 4.0, "large": 8.0}  # CSS half-sizes s at 64 px
MARGIN = 1.0  # px at 64 px kept between a blob and its cell border


def place_2d(scene: SceneSpec, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Blob centres ``(N, 2)`` as (y, x) pixels: cell centres plus a jitter that stays inside the cell.

    Args:
        scene: the scene (objects in canonical order).
        size: image side in pixels.
        rng: draws the jitter; None places every blob at its cell centre.
    """
    cell = size / GRID
    out = np.zeros((len(scene), 2))  # (N, 2)
    for i, o in enumerate(scene.objects):
        row, col = o.row_col
        centre = np.array([(row + 0.5) * cell, (col + 0.5) * cell])
        s = HALF_SIZE[o.size] * size / CSS_SIDE
        room = max(cell / 2 - s - MARGIN * size / CSS_SIDE, 0.0)
        out[i] = centre + (rng.uniform(-room, room, size=2) if rng is not None else 0.0)
    return out


def _shape_mask(shape2d: str, dy: np.ndarray, dx: np.ndarray, s: float, circle: str) -> np.ndarray:
    """Inside-test of one blob at sample offsets ``dy (Y, 1)``, ``dx (1, X)`` from its centre -> (Y, X) bool."""
    if shape2d == "square":
        return (np.abs(dy) <= s) & (np.abs(dx) <= s)
    if shape2d == "circle":
        if circle == "diamond":
            return np.abs(dx) + np.abs(dy) <= s
        return dy * dy + dx * dx <= s * s
    # triangle: apex at the top (dy = -s), half-width (dy + s) / 2, base 2s wide at dy = +s
    return (np.abs(dy) <= s) & (np.abs(dx) <= (dy + s) / 2)


def render_blobs2d(
    scene: SceneSpec,
    size: int = 64,
    rng: np.random.Generator | None = None,
    supersample: int = 2,
    circle: str = "disc",
) -> np.ndarray:
    """Renders ``scene`` as CSS-style 2D blobs.

    Args:
        scene: what to draw.
        size: image side in pixels (half-sizes scale as ``size / 64``).
        rng: position jitter inside each cell; None for none.
        supersample: samples per pixel side for anti-aliasing (1 = aliased, like CSS).
        circle: ``"disc"`` (default) or ``"diamond"`` (CSS's literal circle rows).

    Returns:
        ``(size, size, 3)`` uint8 RGB image on white.
    """
    if circle not in ("disc", "diamond"):
        raise ValueError(f"circle must be 'disc' or 'diamond', got {circle!r}")
    img = np.ones((size, size, 3), dtype=np.float32)  # (H, W, 3) white canvas
    ss = max(int(supersample), 1)
    for o, (cy, cx) in zip(scene.objects, place_2d(scene, size, rng), strict=True):
        s = HALF_SIZE[o.size] * size / CSS_SIDE
        y0, y1 = max(int(np.floor(cy - s)) - 1, 0), min(int(np.ceil(cy + s)) + 1, size)
        x0, x1 = max(int(np.floor(cx - s)) - 1, 0), min(int(np.ceil(cx + s)) + 1, size)
        sub = (np.arange(ss) + 0.5) / ss  # (ss,) sample offsets inside a pixel
        ys = (np.arange(y0, y1)[:, None] + sub[None, :]).reshape(-1, 1) - cy  # (Y*ss, 1)
        xs = (np.arange(x0, x1)[:, None] + sub[None, :]).reshape(1, -1) - cx  # (1, X*ss)
        mask = _shape_mask(SHAPES_2D[o.shape], ys, xs, s, circle).astype(np.float32)  # (Y*ss, X*ss)
        alpha = reduce(mask, "(h a) (w b) -> h w 1", "mean", a=ss, b=ss)  # (Y, X, 1) coverage
        colour = np.asarray(CSS_COLORS[o.color], dtype=np.float32) / 255.0  # (3,)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1.0 - alpha) + colour * alpha
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
