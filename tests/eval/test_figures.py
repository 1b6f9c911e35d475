import numpy as np
import torch
from PIL import Image

from semspace.eval.figures import HIT, MISS, QUERY, retrieval_grid


def test_grid_frames_hits_and_misses() -> None:
    red = torch.zeros(3, 8, 8)
    red[0] = 1.0
    grid = retrieval_grid([red, red], [[red, red], [red, red]], [[True, False], [False, True]], cell=40, border=4)
    arr = np.asarray(grid)
    gap = 8
    assert tuple(arr[gap + 1, gap + 1]) == QUERY  # the query's frame
    x1, x2 = gap + (40 + gap) + gap, gap + 2 * (40 + gap) + gap
    assert tuple(arr[gap + 1, x1 + 1]) == HIT and tuple(arr[gap + 1, x2 + 1]) == MISS
    y2 = gap + (40 + 14 + gap)
    assert tuple(arr[y2 + 1, x1 + 1]) == MISS and tuple(arr[y2 + 1, x2 + 1]) == HIT
    assert tuple(arr[gap + 20, gap + 20]) == (255, 0, 0)  # the image itself inside the frame
    assert isinstance(grid, Image.Image)
