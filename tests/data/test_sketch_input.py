"""Query sketches: inverted ones normalised, blank ones and photos refused, every line drawing accepted
(data/sketch_input.py; the drawings are drawn here with PIL: several densities, widths, sizes, both polarities)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from semspace.data.preprocess import PreprocessCfg
from semspace.data.sketch_input import normalize_sketches, sketch_report
from semspace.data.transforms import build_transform
from semspace.errors import DataError
from semspace.world.objects.dataset import ObjectDataset

PRE = PreprocessCfg(size=32)


def _world(view: str, i: int = 0, n: int = 8) -> np.ndarray:
    ds = ObjectDataset(split="test", n=n, size=48, view=view)
    return np.asarray(ds.world.render_item(i, "test", (view,))[view])


def _x(arr: np.ndarray, pre: PreprocessCfg = PRE) -> torch.Tensor:
    return build_transform(pre)(Image.fromarray(arr))[None]


def drawing(seed: int, side: int, strokes: int, width: float, white_on_black: bool, hatch: bool = False,
            ink: tuple[int, int, int] | None = None) -> np.ndarray:  # fmt: skip
    """Random polylines and ellipses (and a hatched patch), ``width`` a fraction of the side, drawn at 2x and
    shrunk (antialiased), as a canvas export or a QuickDraw bitmap looks."""
    rng = np.random.default_rng(seed)
    s = 2 * side
    bg, fg = ((0, 0, 0), (255, 255, 255)) if white_on_black else ((255, 255, 255), (0, 0, 0))
    im = Image.new("RGB", (s, s), bg)
    d = ImageDraw.Draw(im)
    w = max(1, round(width * s))
    for _ in range(strokes):
        if rng.random() < 0.3:
            cx, cy, rx, ry = *rng.uniform(0.25, 0.75, 2), *rng.uniform(0.05, 0.3, 2)
            d.ellipse([(cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s], outline=ink or fg, width=w)
        else:
            p = rng.uniform(0.12, 0.88, 2)
            pts = [tuple(p * s)]
            for _ in range(int(rng.integers(2, 9))):
                p = np.clip(p + rng.normal(0, 0.15, 2), 0.12, 0.88)
                pts.append(tuple(p * s))
            d.line(pts, fill=ink or fg, width=w, joint="curve")
    if hatch:  # a scribbled-in patch (a pupil, a shadow)
        for k in range(12):
            y = (0.4 + 0.2 * k / 12) * s
            d.line([(0.4 * s, y), (0.6 * s, y + 2)], fill=ink or fg, width=w)
    return np.asarray(im.resize((side, side), Image.LANCZOS))


@pytest.mark.parametrize("size", [32, 96, 224])
def test_line_drawings_of_any_density_width_and_polarity_are_accepted(size: int) -> None:
    pre = PreprocessCfg(size=size)
    cases = [(side, strokes, width, wob, hatch) for side in (28, 256) for strokes in (2, 12, 35)
             for width in (0.005, 0.03, 0.08) for wob in (False, True) for hatch in (False, True)
             if not (side == 28 and width < 0.03)]  # fmt: skip
    x = torch.cat([_x(drawing(i, *c), pre) for i, c in enumerate(cases)])  # (N, 3, size, size)
    ink = torch.tensor([r.ink for r in sketch_report(x, pre)])
    assert float(ink.max()) > 0.5 and float(ink.min()) < 0.1  # from sparse to very dense
    normalize_sketches(x, pre, check=True)  # none refused
    coloured = torch.cat(
        [
            _x(drawing(100 + i, 256, n, 0.04, False, ink=c), pre)
            for i, (n, c) in enumerate([(5, (20, 40, 200)), (30, (200, 30, 30)), (30, (90, 90, 90))])
        ]
    )
    normalize_sketches(coloured, pre, check=True)  # one pen of any colour


def test_a_drawing_on_black_equals_the_same_drawing_on_white() -> None:
    white = _world("sketch")
    x_white, x_black = _x(white), _x(255 - white)
    torch.testing.assert_close(normalize_sketches(x_white, PRE), x_white)  # already white: unchanged
    torch.testing.assert_close(normalize_sketches(x_black, PRE), x_white, atol=1e-5, rtol=0)
    drawn = drawing(7, 28, 20, 0.08, white_on_black=True)  # a QuickDraw-like bitmap: thick white strokes on black
    torch.testing.assert_close(
        normalize_sketches(_x(drawn), PRE), _x(255 - drawn), atol=0.01, rtol=0
    )  # resize rounding


def test_blank_sketches_and_photos_are_refused_and_the_check_can_be_skipped() -> None:
    with pytest.raises(DataError, match="blank"):
        normalize_sketches(_x(np.full((40, 60, 3), 255, np.uint8)), PRE)
    with pytest.raises(DataError, match="blank"):
        normalize_sketches(_x(np.zeros((40, 60, 3), np.uint8)), PRE)
    rng = np.random.default_rng(0)
    noise = _x(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="looks like a photo") as info:
        normalize_sketches(noise, PRE)
    assert "--no-sketch-check" in str(info.value) and "--image" not in str(info.value)
    normalize_sketches(noise, PRE, check=False)  # skipped: no error
    photos = [_world("photo", i, 16) for i in range(16)]
    tinted = [p for p in photos if np.ptp(np.median(p[:2].reshape(-1, 3), axis=0)) > 0.25 * 255]  # coloured backgrounds
    assert tinted
    for p in tinted[:3]:
        with pytest.raises(DataError, match="background is coloured"):
            normalize_sketches(_x(p), PRE)
    normalize_sketches(_x(_world("sketch")), PRE, check=True)  # a world sketch passes


def test_real_photos_are_mostly_refused() -> None:
    skimage_data = pytest.importorskip("skimage.data")
    pre = PreprocessCfg(size=96)
    pics = [skimage_data.astronaut(), skimage_data.chelsea(), skimage_data.coffee(), skimage_data.rocket()]
    refused = [bool(r.photo_reasons()) for r in sketch_report(torch.cat([_x(p, pre) for p in pics]), pre)]
    assert sum(refused) >= 3, refused
