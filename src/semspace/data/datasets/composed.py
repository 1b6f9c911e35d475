"""What the composed-retrieval loaders (CSS3D, Fashion200k, MIT-States) share: their gallery and helpers.

The contract is in ``semspace.types``: query items carry ``SOURCE_INDEX``, a position in ``dataset.gallery()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

from semspace import types as T
from semspace.data.tokenizer import tokenize
from semspace.world.base import stable_int


def label_tensor(key: str) -> torch.Tensor:
    """``stable_int(key)`` as an int64 scalar tensor (``LABEL``/``TARGET_LABEL`` of composed-retrieval items)."""
    return torch.tensor(stable_int(key), dtype=torch.int64)


def words_of(texts: Sequence[str]) -> list[str]:
    """Every word of ``texts`` as the tokenizer splits them, sorted and de-duplicated."""
    return sorted({w for t in texts for w in tokenize(t)})


class _GallerySource(Protocol):
    transform: Callable[[Any], Any] | None

    def gallery_size(self) -> int: ...

    @property
    def gallery_item(self) -> Callable[..., dict[str, Any]]: ...  # (idx, **item_args) -> item


class CompositionGallery(Dataset[dict[str, Any]]):
    """The gallery images a composed-retrieval dataset's queries search (its ``gallery()``).

    Item ``i`` is ``source.gallery_item(i, **item_args)`` (``IMAGE``, ``KEY``, ``LABEL``, ``PATH``, ``DOMAIN``,
    and ``TEXT`` when the data has captions) plus ``INDEX``; a query's ``SOURCE_INDEX`` is a position in this
    dataset. The gallery shares the query dataset's ``transform``: setting one (``attach_transform``) sets both.

    Args:
        source: the query dataset; it knows how to load gallery image ``i`` with its own transform.
        name: shown in ``repr`` and error messages.
        item_args: passed on to ``source.gallery_item`` (e.g. the view of a CSS3D gallery).
    """

    def __init__(self, source: _GallerySource, name: str, **item_args: Any) -> None:
        self.source, self.name, self.item_args = source, name, item_args

    @property
    def transform(self) -> Callable[[Any], Any] | None:
        """The image transform, shared with the query dataset."""
        return self.source.transform

    @transform.setter
    def transform(self, value: Callable[[Any], Any] | None) -> None:
        self.source.transform = value

    def __len__(self) -> int:
        return self.source.gallery_size()

    def __getitem__(self, idx: int) -> dict[str, Any]:
        n, i = len(self), int(idx)
        if not -n <= i < n:
            raise IndexError(f"{self.name} gallery index {i} out of range for {n} items")
        i %= n
        item = self.source.gallery_item(i, **self.item_args)
        item[T.INDEX] = i
        return item

    def __repr__(self) -> str:
        return f"CompositionGallery({self.name}, items={len(self)})"
