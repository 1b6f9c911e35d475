"""The eight CSS colours: names and RGB values, shared by the 2D blob rasteriser and every world kind.

They are the colours of TIRG's CSS renderer (Vo et al., arXiv:1812.07119; google/tirg ``datasets.py``,
``CSSDataset``), so the world's scenes use the same palette as the CSS3D dataset LTT (arXiv:1903.00793) transfers
from.
"""

from __future__ import annotations

CSS_COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (244, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 205, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
COLOR_NAMES: tuple[str, ...] = tuple(CSS_COLORS)
