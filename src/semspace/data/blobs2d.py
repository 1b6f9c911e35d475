"""The one rasteriser of flat 2D blobs: CSS shapes in the CSS palette on a white canvas.

TIRG (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py``, ``CSSDataset.generate_2d_image``, used
by ``get_img(get_2d=True)``) draws each object of a CSS scene on a white 64x64 float canvas as a filled square,
"circle" or apex-up triangle of half-size ``s = 4`` (small) or ``8`` (large) px in one of eight colours
(``data.palette.CSS_COLORS``), later objects covering earlier ones; LTT (arXiv:1903.00793) transfers
transformations learned on these "synthesized 2D blobs" to 3D renders. Two front ends draw through this module:

* ``data.datasets.css_blobs.render_css_blobs``: TIRG's exact images for the real CSS3D loader
  (``coverage="tirg"``);
* ``world.scenes.render2d.render_blobs2d``: the world's ``blobs2d`` view (``coverage="sampled"``).

Both share the shapes, the half-sizes (scaled with the canvas side as ``side / 64``), the palette, the white float
canvas, the painting order and the compositing ``canvas = canvas * (1 - alpha) + colour * alpha`` followed by one
rounding to uint8. They differ only in how a blob's coverage ``alpha`` of a pixel is computed, on purpose:

* ``"tirg"``: TIRG's integer row rules, with ``int()`` truncation and half-open column spans, in CSS row/column
  order (``y`` = row, ``x`` = column). ``rectangle``: rows ``int(y - s) .. int(y + s) - 1``, columns
  ``int(x - s) .. int(x + s) - 1``. ``circle`` (a diamond, as in CSS): rows ``y0`` in ``int(y - s) .. int(y + s)``,
  ``x0 = x + (|y0 - y| - s)``, ``x1 = 2x - x0``, columns ``int(x0) .. int(x1) - 1``. ``triangle``: rows ``y0`` in
  ``int(y - s) .. int(y + s) - 1``, ``x0 = x + (y0 - y + s) / 2``, ``x1 = 2x - x0``, columns
  ``int(min) .. int(max) - 1``. Coverage is 0 or 1 (no anti-aliasing), so every painted pixel is exactly the palette
  value. Rows and columns off the canvas are clipped, where TIRG's numpy indexing would raise (row 64) or wrap
  around (negative starts).
* ``"sampled"``: each pixel is sampled on an ``ss x ss`` grid of points (``ss = supersample``) and ``alpha`` is the
  fraction inside the shape (vectorised numpy masks), which anti-aliases the edges. Inside-tests at offsets
  ``(dy, dx)`` from the centre: square ``|dy|, |dx| <= s``; circle a true disc ``dy^2 + dx^2 <= s^2``
  (``circle="diamond"``: ``|dx| + |dy| <= s``, the shape CSS's rows draw); triangle CSS's, apex up,
  ``|dy| <= s`` and ``|dx| <= (dy + s) / 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from einops import reduce

from semspace.data.palette import CSS_COLORS

CSS_SIDE = 64  # TIRG's canvas side in pixels; half-sizes are given for it and scale with the side
HALF_SIZES: dict[str, float] = {"small": 4.0, "large": 8.0}  # TIRG's half-sizes s at 64 px
BLOB_SHAPES: tuple[str, ...] = ("square", "circle", "triangle")
COVERAGES: tuple[str, ...] = ("sampled", "tirg")
CIRCLES: tuple[str, ...] = ("disc", "diamond")


@dataclass(frozen=True)
class Blob:
    """One blob to paint: a shape of ``BLOB_SHAPES`` in a CSS colour, centred at pixel ``(y, x)``.

    Args:
        shape: ``"square"``, ``"circle"`` or ``"triangle"``.
        color: a CSS colour name (``CSS_COLORS``).
        y: centre row in pixels (may be fractional).
        x: centre column in pixels (may be fractional).
        s: half-size in pixels (``half_size(size, side)``).
    """

    shape: str
    color: str
    y: float
    x: float
    s: float


def half_size(size: str, side: int = CSS_SIDE) -> float:
    """The half-size in pixels of a ``"small"`` or ``"large"`` blob on a ``side``-pixel canvas (4 or 8 at 64)."""
    return HALF_SIZES[size] * side / CSS_SIDE


def _tirg_spans(shape: str, y: float, x: float, s: float) -> list[tuple[int, float, float]]:
    """TIRG's rows of one blob as ``(row, c0, c1)``: columns ``int(c0) .. int(c1) - 1`` of ``row`` are painted."""
    if shape == "square":  # TIRG's "rectangle"
        return [(y0, x - s, x + s) for y0 in range(int(y - s), int(y + s))]
    if shape == "circle":
        spans = []
        for y0 in range(int(y - s), int(y + s) + 1):
            x0 = x + (abs(y0 - y) - s)
            spans.append((y0, x0, 2 * x - x0))
        return spans
    spans = []
    for y0 in range(int(y - s), int(y + s)):  # triangle, apex up
        x0 = x + (y0 - y + s) / 2
        x1 = 2 * x - x0
        spans.append((y0, min(x0, x1), max(x0, x1)))
    return spans


def _tirg_coverage(blob: Blob, side: int) -> tuple[int, int, np.ndarray] | None:
    """0/1 coverage of TIRG's rows, clipped to the canvas: ``(row0, col0, alpha (Y, X, 1) float32)`` or None."""
    rows = []
    for row, c0, c1 in _tirg_spans(blob.shape, blob.y, blob.x, blob.s):
        lo, hi = max(int(c0), 0), min(int(c1), side)
        if 0 <= row < side and lo < hi:
            rows.append((row, lo, hi))
    if not rows:
        return None
    y0, x0 = min(r for r, _, _ in rows), min(lo for _, lo, _ in rows)
    y1, x1 = max(r for r, _, _ in rows) + 1, max(hi for _, _, hi in rows)
    alpha = np.zeros((y1 - y0, x1 - x0, 1), dtype=np.float32)  # (Y, X, 1)
    for row, lo, hi in rows:
        alpha[row - y0, lo - x0 : hi - x0] = 1.0
    return y0, x0, alpha


def _shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, s: float, circle: str) -> np.ndarray:
    """Inside-test of one blob at sample offsets ``dy (Y, 1)``, ``dx (1, X)`` from its centre -> (Y, X) bool."""
    if shape == "square":
        return (np.abs(dy) <= s) & (np.abs(dx) <= s)
    if shape == "circle":
        if circle == "diamond":
            return np.abs(dx) + np.abs(dy) <= s
        return dy * dy + dx * dx <= s * s
    # triangle: apex at the top (dy = -s), half-width (dy + s) / 2, base 2s wide at dy = +s
    return (np.abs(dy) <= s) & (np.abs(dx) <= (dy + s) / 2)


def _sampled_coverage(blob: Blob, side: int, ss: int, circle: str) -> tuple[int, int, np.ndarray] | None:
    """Supersampled coverage in the blob's box (+1 px margin): ``(row0, col0, alpha (Y, X, 1) float32)`` or None."""
    cy, cx, s = blob.y, blob.x, blob.s
    y0, y1 = max(int(np.floor(cy - s)) - 1, 0), min(int(np.ceil(cy + s)) + 1, side)
    x0, x1 = max(int(np.floor(cx - s)) - 1, 0), min(int(np.ceil(cx + s)) + 1, side)
    if y0 >= y1 or x0 >= x1:
        return None  # entirely off the canvas
    sub = (np.arange(ss) + 0.5) / ss  # (ss,) sample offsets inside a pixel
    ys = (np.arange(y0, y1)[:, None] + sub[None, :]).reshape(-1, 1) - cy  # (Y*ss, 1)
    xs = (np.arange(x0, x1)[:, None] + sub[None, :]).reshape(1, -1) - cx  # (1, X*ss)
    mask = _shape_mask(blob.shape, ys, xs, s, circle).astype(np.float32)  # (Y*ss, X*ss)
    alpha = reduce(mask, "(h a) (w b) -> h w 1", "mean", a=ss, b=ss)  # (Y, X, 1) coverage
    return y0, x0, alpha


def rasterise_blobs(
    blobs: Sequence[Blob],
    side: int = CSS_SIDE,
    *,
    coverage: str = "sampled",
    supersample: int = 2,
    circle: str = "disc",
) -> np.ndarray:
    """Paints ``blobs`` in order (later ones cover earlier ones) on a white ``side x side`` canvas.

    Args:
        blobs: what to draw, in painting order.
        side: canvas side in pixels.
        coverage: ``"sampled"`` (supersampled inside-tests, anti-aliased) or ``"tirg"`` (TIRG's integer row rules;
            see the module docstring).
        supersample: samples per pixel side of ``"sampled"`` (1 = aliased); ``"tirg"`` takes only 1.
        circle: ``"disc"`` or ``"diamond"`` for ``"sampled"``; TIRG's rows draw a diamond, so ``"tirg"`` takes only
            ``"diamond"``.

    Returns:
        ``(side, side, 3)`` uint8 RGB image.

    Raises:
        ValueError: unknown ``coverage``, ``circle``, shape or colour, or a combination TIRG's rule does not have.

    Example:
        >>> img = rasterise_blobs([Blob("square", "red", 32.0, 32.0, 4.0)], coverage="tirg", supersample=1,
        ...                       circle="diamond")
        >>> img[28:36, 28:36].reshape(-1, 3).tolist()[0], int((img != 255).any(-1).sum())
        ([244, 35, 35], 64)
    """
    if coverage not in COVERAGES:
        raise ValueError(f"coverage must be one of {list(COVERAGES)}, got {coverage!r}")
    if circle not in CIRCLES:
        raise ValueError(f"circle must be 'disc' or 'diamond', got {circle!r}")
    ss = max(int(supersample), 1)
    if coverage == "tirg" and (ss != 1 or circle != "diamond"):
        raise ValueError(f"coverage 'tirg' is aliased with diamond circles; got supersample={ss}, circle={circle!r}")
    img = np.ones((side, side, 3), dtype=np.float32)  # (H, W, 3) white canvas
    for blob in blobs:
        if blob.shape not in BLOB_SHAPES:
            raise ValueError(f"blob shape must be one of {list(BLOB_SHAPES)}, got {blob.shape!r}")
        if blob.color not in CSS_COLORS:
            raise ValueError(f"blob color must be one of {list(CSS_COLORS)}, got {blob.color!r}")
        cov = _tirg_coverage(blob, side) if coverage == "tirg" else _sampled_coverage(blob, side, ss, circle)
        if cov is None:
            continue
        y0, x0, alpha = cov  # alpha: (Y, X, 1)
        y1, x1 = y0 + alpha.shape[0], x0 + alpha.shape[1]
        colour = np.asarray(CSS_COLORS[blob.color], dtype=np.float32) / 255.0  # (3,)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1.0 - alpha) + colour * alpha  # (Y, X, 3)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
