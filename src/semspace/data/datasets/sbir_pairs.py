"""``sbir_pairs``: sketches, each paired with a photo of the same class, for zero-shot sketch retrieval training.

SSGN (``papers/ssgn.md``) and its baselines learn from (sketch, photo of the same class) pairs of the seen classes:
Sketchy's photos and sketches are not instance pairs for TU-Berlin and QuickDraw, and the world's photo and
sketch of one item are independent instances of the same class. Item ``i`` is sketch ``i`` of ``sketches`` with
photo number ``rng(seed, i) % n_c`` of its class in ``photos`` (a pure function of ``(seed, i)``), under the keys
``SKETCH`` and ``IMAGE``, with the sketch's ``LABEL``, ``KEY`` (class name) and ``INDEX``.

Both wrapped datasets are built by name (``{"name", "args"}``); their class of each item is read without
decoding images when they say it (``item_classes()``, or the world's ``world.category``), else from their items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import IMAGE, INDEX, KEY, LABEL, SKETCH


def item_classes(ds: Any) -> list[str]:
    """The class name of every item of ``ds`` (without rendering when the dataset can say it)."""
    if hasattr(ds, "item_classes"):
        return list(ds.item_classes())
    world = getattr(ds, "world", None)
    if world is not None and hasattr(world, "category") and hasattr(ds, "split"):
        return [world.category(i, ds.split) for i in range(len(ds))]
    return [str(ds[i][KEY]) for i in range(len(ds))]


def _spec(value: Any, what: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(value, dict) or "name" not in value:
        raise ConfigError(f"sbir_pairs: {what} needs {{name, args}} of a registered dataset, got {value!r}")
    return str(value["name"]), dict(value.get("args") or {})


@DATASETS.register("sbir_pairs")
class SketchPhotoPairsDataset(Dataset):
    """Sketches with a same-class photo each (module docstring).

    Args:
        sketches: ``{"name", "args"}`` of the sketch dataset (items with ``SKETCH`` or ``IMAGE``, ``LABEL``, ``KEY``).
        photos: ``{"name", "args"}`` of the photo dataset (items with ``IMAGE``).
        seed: pairing seed.
        transform: applied to sketches and photos (set by the engine from the task's preprocessing).

    Raises:
        DataError: a sketch class has no photo.
    """

    def __init__(self, *, sketches: dict[str, Any], photos: dict[str, Any], seed: int = 0,
                 transform: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        from semspace.data import create_dataset

        s_name, s_args = _spec(sketches, "sketches")
        p_name, p_args = _spec(photos, "photos")
        self.sketches, self.photos = create_dataset(s_name, **s_args), create_dataset(p_name, **p_args)
        self.seed = int(seed)
        self.sketch_classes = item_classes(self.sketches)
        by_class: dict[str, list[int]] = {}
        for j, c in enumerate(item_classes(self.photos)):
            by_class.setdefault(c, []).append(j)
        missing = sorted(set(self.sketch_classes) - set(by_class))
        if missing:
            raise DataError(f"sbir_pairs: no photo of sketch class(es) {missing[:10]} in the photo dataset")
        self.photos_of = by_class
        self._transform = transform
        self.transform = transform

    @property
    def transform(self) -> Callable[[Any], Any] | None:
        return self._transform

    @transform.setter
    def transform(self, value: Callable[[Any], Any] | None) -> None:
        self._transform = value
        for ds in (self.sketches, self.photos):
            if hasattr(ds, "transform"):
                ds.transform = value

    @property
    def class_names(self) -> list[str] | None:
        """The label space's class names (label = position), when the sketch dataset declares it."""
        return getattr(self.sketches, "class_names", None)

    @property
    def unseen_classes(self) -> list[str] | None:
        return getattr(self.sketches, "unseen_classes", None)

    def item_classes(self) -> list[str]:
        return list(self.sketch_classes)

    def photo_index(self, idx: int) -> int:
        """The photo paired with sketch ``idx``."""
        pool = self.photos_of[self.sketch_classes[idx]]
        return pool[int(np.random.default_rng([self.seed, idx]).integers(len(pool)))]

    def __len__(self) -> int:
        return len(self.sketches)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if not 0 <= idx < len(self):
            raise IndexError(f"sbir_pairs: index {idx} out of range for {len(self)} sketches")
        s = self.sketches[idx]
        p = self.photos[self.photo_index(idx)]
        return {
            SKETCH: s[SKETCH] if SKETCH in s else s[IMAGE],
            IMAGE: p[IMAGE],
            LABEL: torch.as_tensor(s[LABEL], dtype=torch.int64),
            KEY: str(s[KEY]),
            INDEX: torch.tensor(idx, dtype=torch.int64),
        }
