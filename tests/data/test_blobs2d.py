"""``data.blobs2d``: the one 2D blob rasteriser, against a literal transcription of TIRG's CSS drawing code."""

from __future__ import annotations

import numpy as np
import pytest

from semspace.data.blobs2d import CSS_SIDE, Blob, half_size, rasterise_blobs
from semspace.data.datasets.css_blobs import render_css_blobs
from semspace.data.palette import COLOR_NAMES, CSS_COLORS

TIRG = {"coverage": "tirg", "supersample": 1, "circle": "diamond"}


def tirg_generate_2d_image(objects: list[dict]) -> np.ndarray:
    """google/tirg ``datasets.py::CSSDataset.generate_2d_image`` line by line (float canvas), then to uint8."""
    img = np.ones((64, 64, 3))
    for obj in objects:
        s = 4.0
        if obj["size"] == "large":
            s *= 2
        c = [1.0 * CSS_COLORS[obj["color"]][j] / 255.0 for j in range(3)]
        y = obj["pos"][0] * img.shape[0]
        x = obj["pos"][1] * img.shape[1]
        if obj["shape"] == "rectangle":
            img[int(y - s) : int(y + s), int(x - s) : int(x + s), :] = c
        if obj["shape"] == "circle":
            for y0 in range(int(y - s), int(y + s) + 1):
                x0 = x + (abs(y0 - y) - s)
                x1 = 2 * x - x0
                img[y0, int(x0) : int(x1), :] = c
        if obj["shape"] == "triangle":
            for y0 in range(int(y - s), int(y + s)):
                x0 = x + (y0 - y + s) / 2
                x1 = 2 * x - x0
                x0, x1 = min(x0, x1), max(x0, x1)
                img[y0, int(x0) : int(x1), :] = c
    return np.rint(img * 255).astype(np.uint8)


def test_tirg_coverage_is_tirg_exact_on_random_scenes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        objects = [
            {
                "pos": [float(v) for v in rng.uniform(0.15, 0.85, size=2)],  # inside, where TIRG's indexing is safe
                "shape": str(rng.choice(["rectangle", "circle", "triangle"])),
                "color": str(rng.choice(COLOR_NAMES)),
                "size": str(rng.choice(["small", "large"])),
            }
            for _ in range(int(rng.integers(1, 6)))
        ]
        assert np.array_equal(render_css_blobs(objects), tirg_generate_2d_image(objects))


@pytest.mark.parametrize("coverage", ["sampled", "tirg"])
def test_palette_canvas_and_painting_order_are_shared(coverage: str) -> None:
    opts = TIRG if coverage == "tirg" else {"coverage": "sampled", "supersample": 2, "circle": "disc"}
    big, small = Blob("square", "red", 32.0, 32.0, 8.0), Blob("square", "blue", 32.0, 32.0, 4.0)
    img = rasterise_blobs([big, small], **opts)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[32, 32]) == CSS_COLORS["blue"] and tuple(img[26, 26]) == CSS_COLORS["red"]  # later on top
    assert tuple(img[2, 2]) == (255, 255, 255)  # white canvas
    assert tuple(rasterise_blobs([small, big], **opts)[32, 32]) == CSS_COLORS["red"]
    off = rasterise_blobs([Blob("circle", "green", -40.0, 100.0, 8.0)], **opts)  # entirely off the canvas
    assert (off == 255).all()


def test_sampled_coverage_anti_aliases_and_tirg_does_not() -> None:
    blob = Blob("circle", "gray", 20.3, 40.6, 6.0)
    tirg = rasterise_blobs([blob], **TIRG)
    sampled = rasterise_blobs([blob], coverage="sampled", supersample=4, circle="disc")
    colours = {tuple(p) for p in tirg.reshape(-1, 3)}
    assert colours == {(255, 255, 255), CSS_COLORS["gray"]}  # only canvas and palette values
    assert len({tuple(p) for p in sampled.reshape(-1, 3)}) > 3  # blended edge pixels


def test_half_sizes_scale_with_the_side() -> None:
    assert half_size("small") == 4.0 and half_size("large") == 8.0 and CSS_SIDE == 64
    assert half_size("large", 128) == 16.0 and half_size("small", 32) == 2.0


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="coverage must be one of"):
        rasterise_blobs([], coverage="exact")
    with pytest.raises(ValueError, match="circle must be"):
        rasterise_blobs([], circle="oval")
    with pytest.raises(ValueError, match="coverage 'tirg' is aliased"):
        rasterise_blobs([], coverage="tirg", supersample=2, circle="diamond")
    with pytest.raises(ValueError, match="blob shape must be one of"):
        rasterise_blobs([Blob("rectangle", "red", 1.0, 1.0, 1.0)])
    with pytest.raises(ValueError, match="blob color must be one of"):
        rasterise_blobs([Blob("square", "pink", 1.0, 1.0, 1.0)])
