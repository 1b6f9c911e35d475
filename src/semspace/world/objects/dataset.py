"""``world_objects``: a torch ``Dataset`` of the objects world, emitting the shared dict batches.

One item is one view (photo or sketch) of ``ObjectWorld`` item ``index``, with its caption, class id (an index
into the full ``CATEGORIES`` list, stable across the "seen"/"unseen" subsets), class name and attribute vector
(the class semantics of SSGN, ``papers/ssgn.md``). ``__getitem__`` is a pure function of ``(seed, split, idx)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.types import ATTRIBUTES, DOMAIN, IMAGE, INDEX, KEY, LABEL, SKETCH, TEXT
from semspace.world.base import WorldDataset, check_split
from semspace.world.objects.attributes import attribute_matrix, attributes
from semspace.world.objects.catalog import class_id
from semspace.world.objects.splits import resolve_classes
from semspace.world.objects.world import ObjectWorld

IMAGE_VIEWS = {"photo": IMAGE, "sketch": SKETCH}


def class_semantics(classes: str | Sequence[str] = "all") -> np.ndarray:
    """Attribute vectors ``(C, A)`` float32 of a class subset, rows in the subset's order.

    ``class_semantics("all")[label]`` is the row of an item with class id ``label``.
    """
    return attribute_matrix(resolve_classes(classes))


@DATASETS.register("world_objects")
class ObjectDataset(WorldDataset):
    """Photos or sketches of the objects world, with captions, class ids and class attributes.

    Args:
        seed: world seed.
        split: "train", "val" or "test" (independent item streams).
        n: number of items.
        size: image side in pixels.
        view: "photo" (batch key ``IMAGE``) or "sketch" (batch key ``SKETCH``).
        classes: "all", "seen", "unseen" or a list of category names.
        transform: optional callable from a PIL RGB image to a tensor; by default float32 ``(3, H, W)`` in [0, 1].

    Example:
        >>> ds = ObjectDataset(split="test", n=100, view="sketch", classes="unseen")
        >>> item = ds[0]
        >>> item["sketch"].shape, item["label"].dtype
        (torch.Size([3, 64, 64]), torch.int64)
    """

    name = "world_objects"

    def __init__(
        self,
        *,
        seed: int = 0,
        split: str = "train",
        n: int = 1000,
        size: int = 64,
        view: str = "photo",
        classes: str | Sequence[str] = "all",
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        check_split(split, self.name)
        if view not in IMAGE_VIEWS:
            raise ConfigError(f"world_objects: view must be one of {sorted(IMAGE_VIEWS)}, got {view!r}")
        if n < 0:
            raise ConfigError(f"world_objects: n must be non-negative, got {n}")
        self.world = ObjectWorld(seed=seed, size=size, classes=classes)
        self.split, self.n, self.view, self.transform = split, int(n), view, transform

    @property
    def categories(self) -> list[str]:
        """Class names in use (a subset of ``CATEGORIES``, in its order)."""
        return self.world.categories

    @property
    def class_names(self) -> list[str]:
        """The label space: every world category (``LABEL`` is the position in ``CATEGORIES``, whatever subset)."""
        from semspace.world.objects.catalog import CATEGORIES

        return list(CATEGORIES)

    @property
    def unseen_classes(self) -> list[str]:
        """The world's zero-shot split: the classes held out of training (``world.objects.splits``)."""
        from semspace.world.objects.splits import UNSEEN_CLASSES

        return list(UNSEEN_CLASSES)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self.check_index(idx)
        views = self.world.render_item(i, self.split, (self.view, "text"))
        arr = views[self.view]
        assert isinstance(arr, np.ndarray)
        x = self._image(arr)  # (3, H, W) unless a transform says otherwise
        name = self.world.category(i, self.split)
        return {
            IMAGE_VIEWS[self.view]: x,
            TEXT: views["text"],
            LABEL: torch.tensor(class_id(name), dtype=torch.int64),
            KEY: name,
            ATTRIBUTES: torch.from_numpy(attributes(name)),
            DOMAIN: self.view,
            INDEX: torch.tensor(i, dtype=torch.int64),
        }
