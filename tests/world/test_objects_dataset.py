"""The ``world_objects`` dataset: dict items, stable labels, class semantics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.types import ATTRIBUTES, DOMAIN, IMAGE, INDEX, KEY, LABEL, SKETCH, TEXT
from semspace.world.objects import (
    CATEGORIES,
    NUM_ATTRIBUTES,
    SEEN_CLASSES,
    UNSEEN_CLASSES,
    ObjectDataset,
    ObjectWorld,
    attributes,
    class_semantics,
)


@pytest.mark.parametrize(("view", "key"), [("photo", IMAGE), ("sketch", SKETCH)])
def test_item_keys_and_types(view, key):
    ds = ObjectDataset(seed=2, split="val", n=5, view=view)
    item = ds[4]
    assert set(item) == {key, TEXT, LABEL, KEY, ATTRIBUTES, DOMAIN, INDEX}
    x = item[key]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert item[LABEL].dtype == torch.int64 and CATEGORIES[int(item[LABEL])] == item[KEY]
    assert item[ATTRIBUTES].shape == (NUM_ATTRIBUTES,) and item[ATTRIBUTES].dtype == torch.float32
    assert torch.equal(item[ATTRIBUTES], torch.from_numpy(attributes(item[KEY])))
    assert item[DOMAIN] == view and int(item[INDEX]) == 4 and isinstance(item[TEXT], str)
    raw = ObjectWorld(seed=2).render_item(4, "val", (view, "text"))
    assert torch.equal(x, torch.from_numpy(raw[view]).permute(2, 0, 1).float() / 255.0)
    assert item[TEXT] == raw["text"]


def test_labels_index_the_full_table_in_every_subset():
    for classes, names in (("unseen", UNSEEN_CLASSES), ("seen", SEEN_CLASSES)):
        ds = ObjectDataset(n=len(names), view="sketch", classes=classes)
        for i in range(0, len(names), 5):
            item = ds[i]
            assert item[KEY] == names[i] and int(item[LABEL]) == CATEGORIES.index(names[i])


def test_transform_len_and_indexing():
    ds = ObjectDataset(n=3, transform=lambda im: np.asarray(im.convert("L")))
    assert len(ds) == 3 and ds[0][IMAGE].shape == (64, 64)
    assert int(ds[-1][INDEX]) == 2
    with pytest.raises(IndexError):
        ds[3]
    seen_by_transform = []
    ObjectDataset(n=1, transform=lambda im: seen_by_transform.append(im) or 0)[0]
    assert isinstance(seen_by_transform[0], Image.Image) and seen_by_transform[0].mode == "RGB"


def test_registered_and_collatable():
    ds = DATASETS.create("world_objects", n=4, view="sketch", size=32)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch[SKETCH].shape == (4, 3, 32, 32) and batch[LABEL].shape == (4,) and len(batch[TEXT]) == 4
    assert batch[INDEX].tolist() == [0, 1, 2, 3]


def test_class_semantics_rows():
    full = class_semantics("all")
    assert full.shape == (len(CATEGORIES), NUM_ATTRIBUTES) and full.dtype == np.float32
    for name in ("cup", "truck"):
        assert np.array_equal(full[CATEGORIES.index(name)], attributes(name))
    unseen = class_semantics("unseen")
    assert np.array_equal(unseen, np.stack([attributes(c) for c in UNSEEN_CLASSES]))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="view must be one of"):
        ObjectDataset(view="text")
    with pytest.raises(ConfigError, match="classes must be one of"):
        ObjectDataset(classes="novel")
    with pytest.raises(
        ConfigError, match=r"world_objects: unknown split 'training'; available: \['train', 'val', 'test'\]"
    ):
        ObjectDataset(split="training")
