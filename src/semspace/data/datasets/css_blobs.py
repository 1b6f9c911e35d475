"""TIRG's CSS 2D-blob images: the "synthesized 2D blobs" source domain of LTT, drawn from CSS annotations.

TIRG (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py``, ``CSSDataset.generate_2d_image``, used
by ``get_img(get_2d=True)``) draws each object of a CSS scene on a white 64x64x3 canvas; LTT (Vo, Jiang, Hays 2019,
arXiv:1903.00793) learns transformations on these images and transfers them to the 3D renders. An object
``{"pos": [y, x], "shape", "color", "size"}`` becomes a blob centred at row ``pos[0] * 64``, column
``pos[1] * 64`` with half-size ``s = 4`` (small) or ``8`` (large), painted in list order (later ones cover earlier
ones) in the eight CSS colours (``data.palette.CSS_COLORS``) by the shared rasteriser ``data.blobs2d`` with TIRG's
exact integer row rules (``coverage="tirg"``; the rules are listed there): ``rectangle`` rows and columns
``int(c - s) .. int(c + s) - 1``, ``circle`` TIRG's diamond rows, ``triangle`` apex up. The image is TIRG's float
canvas ``c / 255`` stored as uint8, so every pixel is exactly the palette value. One deliberate difference: rows and
columns that fall off the canvas are clipped, where TIRG's numpy indexing would raise (row 64) or wrap around
(negative column starts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from semspace.data.blobs2d import CSS_SIDE, HALF_SIZES, Blob, rasterise_blobs
from semspace.data.palette import CSS_COLORS

CANVAS = CSS_SIDE  # TIRG's canvas side in pixels
SHAPES: tuple[str, ...] = ("rectangle", "circle", "triangle")
BLOB_SHAPE: dict[str, str] = {"rectangle": "square", "circle": "circle", "triangle": "triangle"}  # CSS -> rasteriser
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


def css_blob(obj: Mapping[str, Any]) -> Blob:
    """One (checked) CSS object as the rasteriser's ``Blob``: centre ``pos * 64`` in pixels, TIRG's half-size."""
    y, x = float(obj["pos"][0]) * CANVAS, float(obj["pos"][1]) * CANVAS
    return Blob(BLOB_SHAPE[obj["shape"]], obj["color"], y, x, HALF_SIZES[obj["size"]])


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
    blobs = []
    for k, obj in enumerate(objects):
        problem = check_css_object(obj)
        if problem is not None:
            raise ValueError(f"object {k}: {problem}")
        blobs.append(css_blob(obj))
    return rasterise_blobs(blobs, CANVAS, coverage="tirg", supersample=1, circle="diamond")
