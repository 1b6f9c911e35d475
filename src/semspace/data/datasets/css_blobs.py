"""TIRG's CSS 2D-blob renderer: the "synthesized 2D blobs" source domain of LTT, drawn from CSS annotations.

TIRG (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py``, ``CSSDataset.get_img(get_2d=True)``)
draws each object of a CSS scene on a white 64x64x3 canvas; LTT (Vo, Jiang, Hays 2019, arXiv:1903.00793) learns
transformations on these images and transfers them to the 3D renders. With ``y = pos[0] * 64``,
``x = pos[1] * 64`` and half-size ``s = 4`` (small) or ``8`` (large), in CSS row/column order (``[y, x]``):

* ``rectangle``: rows ``int(y - s) .. int(y + s) - 1``, columns ``int(x - s) .. int(x + s) - 1``;
* ``circle`` (a diamond, as in CSS): for rows ``y0`` in ``int(y - s) .. int(y + s)``,
  ``x0 = x + (|y0 - y| - s)``, ``x1 = 2x - x0``, columns ``int(x0) .. int(x1) - 1``;
* ``triangle``: for rows ``y0`` in ``int(y - s) .. int(y + s) - 1``, ``x0 = x + (y0 - y + s) / 2``,
  ``x1 = 2x - x0``, columns ``int(min) .. int(max) - 1`` (apex up);

objects are painted in list order (later ones cover earlier ones) with the eight CSS colours
(``world.palette.CSS_COLORS``). The image is TIRG's float canvas ``c / 255`` stored as uint8, so every pixel is
exactly the palette value. One deliberate difference: rows and columns that fall off the canvas are clipped,
where TIRG's numpy indexing would raise (row 64) or wrap around (negative column starts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semspace.world.palette import CSS_COLORS

CANVAS = 64  # TIRG's canvas side in pixels
HALF_SIZES: dict[str, float] = {"small": 4.0, "large": 8.0}
SHAPES: tuple[str, ...] = ("rectangle", "circle", "triangle")
FIELDS: tuple[str, ...] = ("pos", "shape", "color", "size")
WHITE = 255


def check_css_object(obj: Any) -> str | None:
    """Returns what is wrong with one CSS object annotation, or None when it can be drawn.

    An object is a mapping with ``pos`` ([y, x], numbers), ``shape`` (one of ``SHAPES``), ``color`` (a CSS
    colour name) and ``size`` (``"small"`` or ``"large"``).
    """
    if not isinstance(obj, Mapping):
        return f"expected a dict with keys {list(FIELDS)}, got {type(obj).__name__}"
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        return f"missing key(s) {missing}; expected {list(FIELDS)}"
    pos = obj["pos"]
    try:
        ok = len(pos) == 2 and all(np.isfinite(float(v)) for v in pos)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        return f"'pos' is {pos!r}; expected [y, x], two finite numbers in [0, 1]"
    if obj["shape"] not in SHAPES:
        return f"'shape' is {obj['shape']!r}; expected one of {list(SHAPES)}"
    if obj["color"] not in CSS_COLORS:
        return f"'color' is {obj['color']!r}; expected one of {list(CSS_COLORS)}"
    if obj["size"] not in HALF_SIZES:
        return f"'size' is {obj['size']!r}; expected one of {list(HALF_SIZES)}"
    return None


def _fill(img: np.ndarray, row: int, c0: float, c1: float, color: np.ndarray) -> None:
    """Paints columns ``int(c0) .. int(c1) - 1`` of ``row``, clipped to the canvas."""
    h, w = img.shape[:2]
    if not 0 <= row < h:
        return
    lo, hi = max(int(c0), 0), min(int(c1), w)
    if lo < hi:
        img[row, lo:hi] = color  # (hi - lo, 3)


def render_css_blobs(objects: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Draws a CSS scene as TIRG's 2D blob image.

    Args:
        objects: the scene's objects (``objects_img[i]`` of the CSS annotations), each with ``pos`` ([y, x] in
            [0, 1]), ``shape``, ``color`` and ``size``.

    Returns:
        A ``(64, 64, 3)`` uint8 RGB image.

    Raises:
        ValueError: an object cannot be drawn (the message names its position in the list and the field).

    Example:
        >>> img = render_css_blobs([{"pos": [0.5, 0.5], "shape": "rectangle", "color": "red", "size": "small"}])
        >>> img[28:32, 28:32].tolist()[0][0]
        [244, 35, 35]
    """
    img = np.full((CANVAS, CANVAS, 3), WHITE, dtype=np.uint8)  # (64, 64, 3)
    for k, obj in enumerate(objects):
        problem = check_css_object(obj)
        if problem is not None:
            raise ValueError(f"object {k}: {problem}")
        s = HALF_SIZES[obj["size"]]
        color = np.array(CSS_COLORS[obj["color"]], dtype=np.uint8)  # (3,)
        y, x = float(obj["pos"][0]) * CANVAS, float(obj["pos"][1]) * CANVAS
        if obj["shape"] == "rectangle":
            for y0 in range(max(int(y - s), 0), min(int(y + s), CANVAS)):
                _fill(img, y0, x - s, x + s, color)
        elif obj["shape"] == "circle":
            for y0 in range(int(y - s), int(y + s) + 1):
                x0 = x + (abs(y0 - y) - s)
                _fill(img, y0, x0, 2 * x - x0, color)
        else:  # triangle
            for y0 in range(int(y - s), int(y + s)):
                x0 = x + (y0 - y + s) / 2
                x1 = 2 * x - x0
                _fill(img, y0, min(x0, x1), max(x0, x1), color)
    return img
