"""The contract every kind of world (scenes, objects, pairs) follows.

The world is semspace's embedded default data: seeded procedural generators that show the *same
content in several domains* with known ground truth (DESIGN §3, STYLE F.21). Each kind is a plain
class with no global state; everything it returns for item ``idx`` of ``split`` is a pure function of
``(seed, split, idx)``.

A kind offers three things:

* ``views``: the names of the item's views (images and texts) that ``render_item`` returns;
* ``annotation(idx, split)``: the JSON-serialisable ground truth of the item;
* ``render_item(idx, split, views=None)``: ``{view: np.ndarray (H, W, 3) uint8 | str}``.

Export to disk (``world.export``), contact sheets (``world.preview``) and the speed benchmark work on
any kind through this contract only; the torch datasets of each kind (``world_scenes``,
``world_objects``, ``world_pairs`` in the dataset registry) build dict batches on top of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from einops import rearrange
from PIL import Image
from torch.utils.data import Dataset

from semspace.errors import ConfigError

SPLIT_KEYS = {"train": 0, "val": 1, "test": 2}  # mixed into every SeedSequence so splits never share streams


@runtime_checkable
class WorldKind(Protocol):
    """Structural type of a world kind (see module docstring)."""

    name: str  # "scenes" | "objects" | "pairs"
    views: tuple[str, ...]  # every view render_item can return
    image_views: tuple[str, ...]  # the subset of views that are images
    seed: int
    size: int

    def annotation(self, idx: int, split: str = "train") -> dict[str, Any]: ...

    def render_item(
        self, idx: int, split: str = "train", views: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray | str]: ...


def check_split(split: str, name: str) -> int:
    """Returns the stream key of ``split`` (``SPLIT_KEYS``); every world kind and dataset checks its split here.

    Args:
        split: the requested split.
        name: who asks, for the message: a dataset's registry name (``"world_scenes"``) or a kind (``"scenes world"``).

    Raises:
        ConfigError: ``split`` is not one of ``SPLIT_KEYS``; the message names ``name``, the split and the valid
            ones (``"world_pairs: unknown split 'dev'; available: ['train', 'val', 'test']"``).
    """
    if split not in SPLIT_KEYS:
        raise ConfigError(f"{name}: unknown split {split!r}; available: {list(SPLIT_KEYS)}")
    return SPLIT_KEYS[split]


def view_to_tensor(img: np.ndarray, transform: Callable[[Image.Image], Any] | None = None) -> Any:
    """A rendered view ``(H, W, 3)`` uint8 -> ``transform(PIL image)``, or float32 ``(3, H, W)`` in [0, 1]."""
    if transform is not None:
        return transform(Image.fromarray(img))
    return rearrange(torch.from_numpy(np.ascontiguousarray(img)), "h w c -> c h w").float().div_(255.0)


class WorldDataset(Dataset):
    """Shared plumbing of the world's torch datasets: length, index checks, view -> tensor.

    Subclasses set ``name`` (their registry name), ``n`` and ``transform`` and implement ``__getitem__``,
    starting with ``idx = self.check_index(idx)``.
    """

    name: str = "world"
    n: int = 0
    transform: Callable[[Image.Image], Any] | None = None

    def __len__(self) -> int:
        return self.n

    def check_index(self, idx: int) -> int:
        """Returns ``idx`` in ``[0, n)`` (negative indices count from the end); out of range is an IndexError."""
        if not -self.n <= idx < self.n:
            raise IndexError(f"{self.name} index {idx} out of range for {self.n} items")
        return int(idx) % self.n

    def _image(self, img: np.ndarray) -> Any:
        return view_to_tensor(img, self.transform)
