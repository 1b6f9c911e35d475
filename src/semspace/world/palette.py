"""Colour names and RGB values shared by every world kind.

The eight colours are those of TIRG's CSS renderer (google/tirg ``datasets.py``), so world scenes use the
same palette as the CSS dataset the LTT paper transfers from.
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
