"""The ``blobs2d`` view: flat 2D blobs on a white canvas, after TIRG's CSS 2D renderer.

TIRG (Vo et al., arXiv:1812.07119; google/tirg ``datasets.py``, ``CSSDataset.generate_2d_image``) draws each CSS
object on a white 64x64 canvas as a filled square, "circle" or triangle of half-size s = 4 px (small) or 8 px
(large) in one of eight colours; this is the "synthesized 2D blobs" source domain that LTT (arXiv:1903.00793)
transfers transformations from. The drawing is the one rasteriser ``data.blobs2d.rasterise_blobs`` that also
renders the real CSS3D loader's images; we keep TIRG's canvas, sizes (scaled with the image side), palette, shapes
and painting order, with three deliberate differences:

* positions come from our 3x3 grid (cell centre plus a small jitter that keeps the blob in its cell);
* the circle is a true disc (CSS's row formula ``x0 = x + |y0 - y| - s`` actually draws a diamond;
  ``circle="diamond"`` reproduces its shape);
* edges are anti-aliased by supersampling each pixel on an ``ss x ss`` grid (the rasteriser's ``"sampled"``
  coverage), where TIRG fills whole pixels by integer row rules (its ``"tirg"`` coverage).

The triangle is CSS's: apex up, base 2s wide at the bottom (rows ``x0 = x + (y0 - y + s) / 2``).
"""

from __future__ import annotations

import numpy as np

from semspace.data.blobs2d import CIRCLES, CSS_SIDE, Blob, half_size, rasterise_blobs
from semspace.world.scenes.spec import GRID, SHAPES_2D, SceneSpec

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
        s = half_size(o.size, size)
        room = max(cell / 2 - s - MARGIN * size / CSS_SIDE, 0.0)
        out[i] = centre + (rng.uniform(-room, room, size=2) if rng is not None else 0.0)
    return out


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
    if circle not in CIRCLES:
        raise ValueError(f"circle must be 'disc' or 'diamond', got {circle!r}")
    centres = place_2d(scene, size, rng)  # (N, 2) drawn before any pixel, as the jitter stream expects
    blobs = [
        Blob(SHAPES_2D[o.shape], o.color, float(cy), float(cx), half_size(o.size, size))
        for o, (cy, cx) in zip(scene.objects, centres, strict=True)
    ]
    return rasterise_blobs(blobs, size, coverage="sampled", supersample=supersample, circle=circle)
