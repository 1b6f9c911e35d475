"""Query sketches: inverted ones normalised, blank ones and photos refused (data/sketch_input.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semspace.data.preprocess import PreprocessCfg
from semspace.data.sketch_input import normalize_sketches
from semspace.data.transforms import build_transform
from semspace.errors import DataError
from semspace.world.objects.dataset import ObjectDataset

PRE = PreprocessCfg(size=32)


def _world(view: str, i: int = 0) -> np.ndarray:
    ds = ObjectDataset(split="test", n=8, size=48, view=view)
    return np.asarray(ds.world.render_item(i, "test", (view,))[view])


def _x(arr: np.ndarray) -> torch.Tensor:
    return build_transform(PRE)(Image.fromarray(arr))[None]


def test_a_sketch_on_black_equals_the_same_sketch_on_white() -> None:
    white = _world("sketch")
    x_white, x_black = _x(white), _x(255 - white)
    torch.testing.assert_close(normalize_sketches(x_white, PRE), x_white)  # already white: unchanged
    torch.testing.assert_close(normalize_sketches(x_black, PRE), x_white, atol=1e-5, rtol=0)


def test_blank_sketches_and_photos_are_refused() -> None:
    with pytest.raises(DataError, match="blank"):
        normalize_sketches(_x(np.full((40, 60, 3), 255, np.uint8)), PRE)
    with pytest.raises(DataError, match="blank"):
        normalize_sketches(_x(np.zeros((40, 60, 3), np.uint8)), PRE)
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="looks like a photo"):
        normalize_sketches(_x(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)), PRE)
    coloured = [i for i in range(8) if np.ptp(_world("photo", i).astype(int), axis=2).mean() > 60]
    assert coloured
    for i in coloured[:2]:
        with pytest.raises(DataError, match="looks like a photo"):
            normalize_sketches(_x(_world("photo", i)), PRE)
    normalize_sketches(_x(_world("sketch")), PRE, check=True)  # a real sketch passes
