"""The ``world_pairs`` dataset: registry entry, item keys, shapes, values and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.types import DOMAIN, EXEMPLAR, IMAGE, INDEX, LABEL, TARGET
from semspace.world.pairs import PairDataset, PairWorld

SIZE = 32


def test_registered_under_world_pairs() -> None:
    assert DATASETS.get("world_pairs") is PairDataset
    ds = DATASETS.create("world_pairs", n=3, size=SIZE)
    assert isinstance(ds, PairDataset) and len(ds) == 3


@pytest.mark.parametrize(
    ("direction", "views", "domain", "label_key"),
    [("a2b", ("source", "exemplar", "target"), "a", "label"),
     ("b2a", ("source_b", "exemplar_a", "target_b2a"), "b", "label_b")],
)  # fmt: skip
def test_item_keys_shapes_and_values(direction: str, views: tuple[str, ...], domain: str, label_key: str) -> None:
    ds = PairDataset(seed=3, split="test", n=5, size=SIZE, direction=direction)
    world = PairWorld(seed=3, size=SIZE)
    for i in range(len(ds)):
        item = ds[i]
        assert set(item) == {IMAGE, EXEMPLAR, TARGET, LABEL, DOMAIN, INDEX}
        for key, view in zip((IMAGE, EXEMPLAR, TARGET), views, strict=True):
            t = item[key]
            assert t.shape == (3, SIZE, SIZE) and t.dtype == torch.float32
            assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
            ref = world.render_item(i, "test", (view,))[view]  # (H, W, 3) uint8
            np.testing.assert_allclose(t.permute(1, 2, 0).numpy(), ref / 255.0, atol=1e-6)
        assert item[LABEL].dtype == torch.int64 and int(item[LABEL]) == world.annotation(i, "test")[label_key]
        assert item[DOMAIN] == domain and item[INDEX].dtype == torch.int64 and int(item[INDEX]) == i
    src_is_grey = bool((item[IMAGE][0] == item[IMAGE][1]).all())
    assert src_is_grey == (direction == "a2b")  # domain A is binary-like grey, domain B is coloured


def test_transform_gets_pil_images() -> None:
    seen: list[tuple[int, int]] = []

    def to_tensor(img: Image.Image) -> torch.Tensor:
        seen.append(img.size)
        return torch.from_numpy(np.asarray(img, dtype=np.float32)).mean(-1, keepdim=True)  # (H, W, 1)

    item = PairDataset(n=2, size=SIZE, transform=to_tensor)[1]
    assert seen == [(SIZE, SIZE)] * 3 and item[TARGET].shape == (SIZE, SIZE, 1)


def test_dataloader_collates_and_negative_index() -> None:
    ds = PairDataset(n=6, size=SIZE, direction="b2a")
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch[IMAGE].shape == (4, 3, SIZE, SIZE) and batch[LABEL].shape == (4,)
    assert batch[DOMAIN] == ["b"] * 4 and batch[INDEX].tolist() == [0, 1, 2, 3]
    assert torch.equal(ds[-1][TARGET], ds[5][TARGET])


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="direction"):
        PairDataset(direction="a2a")
    with pytest.raises(ConfigError, match="n must"):
        PairDataset(n=0)
    with pytest.raises(
        ConfigError, match=r"world_pairs: unknown split 'training'; available: \['train', 'val', 'test'\]"
    ):
        PairDataset(split="training")
    with pytest.raises(IndexError):
        PairDataset(n=2, size=SIZE)[2]
