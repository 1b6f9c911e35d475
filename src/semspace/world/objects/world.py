"""``ObjectWorld``: the objects kind of the world (``world/base.py`` contract), seen as photo, sketch and text.

Item ``idx`` of ``split`` is one class (``idx % n_classes``, so classes are balanced) with three views: a
photo, a sketch and a caption of the photo. Like Sketchy's pairs, the photo and the sketch are *independent
instances of the same class* (own proportions, pose and style). Everything is a pure function of
``(seed, split, idx)``: each view draws from its own ``utils.seed.rng_for(seed, split_key, idx, stream)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from semspace.utils.seed import rng_for
from semspace.world.base import check_split
from semspace.world.objects.attributes import attributes, describe
from semspace.world.objects.catalog import class_id
from semspace.world.objects.photo import render_photo
from semspace.world.objects.sketch import render_sketch
from semspace.world.objects.spec import PhotoSpec, SketchSpec, sample_photo_spec, sample_sketch_spec
from semspace.world.objects.splits import class_split, resolve_classes
from semspace.world.objects.text import caption
from semspace.world.registry import WORLD_KINDS

_PHOTO, _SKETCH, _TEXT = 1, 2, 3  # rng streams of the three views


@WORLD_KINDS.register("objects")
class ObjectWorld:
    """Part-based object categories as photos, hand-drawn sketches and captions.

    Args:
        seed: world seed; every item is a pure function of ``(seed, split, idx)``.
        size: side of the square image views in pixels.
        classes: ``"all"``, ``"seen"``, ``"unseen"`` (``splits.py``) or a list of category names.

    Example:
        >>> world = ObjectWorld(seed=0, classes="unseen")
        >>> item = world.render_item(3, "test")
        >>> item["photo"].shape, item["sketch"].dtype, world.category(3, "test") in world.categories
        ((64, 64, 3), dtype('uint8'), True)
    """

    name = "objects"
    views: tuple[str, ...] = ("photo", "sketch", "text")
    image_views: tuple[str, ...] = ("photo", "sketch")

    def __init__(self, seed: int = 0, size: int = 64, classes: str | Sequence[str] = "all") -> None:
        if size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {size}")
        self.seed, self.size = int(seed), int(size)
        self.classes = classes if isinstance(classes, str) else list(classes)
        self.categories: list[str] = list(resolve_classes(classes))

    @property
    def n_classes(self) -> int:
        return len(self.categories)

    def _key(self, idx: int, split: str) -> tuple[int, int]:
        key = check_split(split, f"{self.name} world")
        if int(idx) < 0:
            raise IndexError(f"item index must be non-negative, got {idx}")
        return key, int(idx)

    def category(self, idx: int, split: str = "train") -> str:
        """The class name of item ``idx`` (balanced: ``categories[idx % n_classes]``)."""
        _, i = self._key(idx, split)
        return self.categories[i % self.n_classes]

    def photo_spec(self, idx: int, split: str = "train") -> PhotoSpec:
        """The variation parameters of the item's photo."""
        key, i = self._key(idx, split)
        return sample_photo_spec(self.category(i, split), rng_for(self.seed, key, i, _PHOTO))

    def sketch_spec(self, idx: int, split: str = "train") -> SketchSpec:
        """The pose and drawing style of the item's sketch."""
        key, i = self._key(idx, split)
        return sample_sketch_spec(self.category(i, split), rng_for(self.seed, key, i, _SKETCH))

    def caption(self, idx: int, split: str = "train") -> str:
        """The item's text view: a caption of its photo."""
        key, i = self._key(idx, split)
        return caption(self.photo_spec(i, split), rng_for(self.seed, key, i, _TEXT))

    def annotation(self, idx: int, split: str = "train") -> dict[str, Any]:
        """JSON-serialisable ground truth: class, class id, seen/unseen, attributes, variation and caption."""
        name = self.category(idx, split)
        return {
            "kind": self.name,
            "split": split,
            "index": int(idx),
            "class": name,
            "class_id": class_id(name),
            "class_split": class_split(name),
            "attributes": [float(a) for a in attributes(name)],
            "description": describe(name),
            "photo": self.photo_spec(idx, split).to_dict(),
            "sketch": self.sketch_spec(idx, split).to_dict(),
            "caption": self.caption(idx, split),
        }

    def render_item(
        self, idx: int, split: str = "train", views: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray | str]:
        """``{view: (size, size, 3) uint8 array | caption}`` for the requested views (default: all)."""
        views = self.views if views is None else tuple(views)
        unknown = [v for v in views if v not in self.views]
        if unknown:
            raise ValueError(f"unknown view(s) {unknown} of the objects world; expected some of {self.views}")
        out: dict[str, np.ndarray | str] = {}
        for v in views:
            if v == "photo":
                out[v] = render_photo(self.photo_spec(idx, split), self.size)
            elif v == "sketch":
                out[v] = render_sketch(self.sketch_spec(idx, split), self.size)
            else:
                out[v] = self.caption(idx, split)
        return out
