"""What the composed-retrieval loaders (CSS3D, Fashion200k, MIT-States) share: items, gallery and vocabulary.

The contract is in ``semspace.types``: query items carry ``SOURCE_INDEX``, a position in ``dataset.gallery()``.
The protocol is TIRG's (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py`` and
``test_retrieval.py``): a query is (source image, modification text) and a hit is a gallery image whose ``KEY``
equals the target's. ``ComposedRetrievalDataset`` builds the query and gallery items of every loader from a few
per-dataset hooks, so the item layout is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

import torch
from torch.utils.data import Dataset

from semspace import types as T
from semspace.data.base import BaseDataset
from semspace.data.tokenizer import tokenize
from semspace.utils.hashing import stable_int


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


class ComposedRetrievalDataset(BaseDataset):
    """Base of the on-disk composed-retrieval loaders: TIRG-style query items over a gallery of the split's images.

    A subclass reads its layout (``validate_layout``), sets ``name`` (its registry name) and ``targets`` (load
    ``TARGET_IMAGE``), and implements the hooks ``query``, ``key``, ``load_view``, ``uri``, ``gallery_size`` and
    ``vocabulary_texts`` (and ``caption`` when its images have captions). Images are addressed by their id in the
    split, which is also their gallery position. Everything else is shared:

    * query item ``idx`` (``get_item``): ``IMAGE`` (source in ``view``), ``MOD_TEXT``, ``TEXT``/``TARGET_TEXT``
      (captions, when the data has them), ``KEY``/``TARGET_KEY``, ``LABEL``/``TARGET_LABEL`` (int64
      ``stable_int`` of the keys), ``SOURCE_INDEX`` (int64 source image id), ``DOMAIN`` (= ``view``), ``PATH``
      (where the source came from), and ``TARGET_IMAGE`` with ``targets``; ``BaseDataset`` adds ``INDEX``;
    * gallery item ``idx`` (``gallery_item``): ``IMAGE``, ``TEXT`` (with captions), ``KEY``, ``LABEL``, ``PATH``,
      ``DOMAIN``; ``gallery()`` is every image of the split;
    * ``vocabulary()``: the sorted words of ``vocabulary_texts()``.
    """

    name: ClassVar[str] = "composed"  # the registry name, in gallery names and messages
    view: str = "photo"  # the view (and DOMAIN) of the images; CSS3D has two
    targets: bool = True

    # ---- hooks ----------------------------------------------------------------------------------
    def query(self, idx: int) -> tuple[int, str, int]:
        """Query ``idx`` as (source image id, modification text, target image id)."""
        raise NotImplementedError

    def key(self, img_id: int) -> str:
        """The ground-truth key of image ``img_id``: two images with the same key are the same for retrieval."""
        raise NotImplementedError

    def caption(self, img_id: int) -> str | None:
        """The caption of image ``img_id`` (``TEXT``), or None when the data has no captions (the default)."""
        return None

    def load_view(self, img_id: int, view: str) -> Any:
        """Image ``img_id`` in ``view``, transformed."""
        raise NotImplementedError

    def uri(self, img_id: int, view: str) -> str:
        """Where image ``img_id`` in ``view`` comes from (``PATH``)."""
        raise NotImplementedError

    def gallery_size(self) -> int:
        """Number of gallery images (all images of the split)."""
        raise NotImplementedError

    def vocabulary_texts(self) -> Sequence[str]:
        """The texts whose words make up ``vocabulary()`` (captions, modification texts)."""
        raise NotImplementedError

    # ---- shared items ---------------------------------------------------------------------------
    def get_item(self, idx: int) -> dict[str, Any]:
        src, mod, tgt = self.query(idx)
        key, tkey = self.key(src), self.key(tgt)
        item: dict[str, Any] = {T.IMAGE: self.load_view(src, self.view), T.MOD_TEXT: mod}
        text = self.caption(src)
        if text is not None:
            item[T.TEXT], item[T.TARGET_TEXT] = text, self.caption(tgt)
        item |= {
            T.KEY: key,
            T.TARGET_KEY: tkey,
            T.LABEL: label_tensor(key),
            T.TARGET_LABEL: label_tensor(tkey),
            T.SOURCE_INDEX: torch.tensor(src, dtype=torch.int64),
            T.DOMAIN: self.view,
            T.PATH: self.uri(src, self.view),
        }
        if self.targets:
            item[T.TARGET_IMAGE] = self.load_view(tgt, self.view)
        return item

    def gallery(self) -> CompositionGallery:
        """Every image of the split (TIRG's test gallery), searched by the queries."""
        return CompositionGallery(self, f"{self.name}/{self.split}")

    def gallery_item(self, idx: int, view: str | None = None) -> dict[str, Any]:
        """Gallery image ``idx`` in ``view`` (default: ``self.view``): ``IMAGE``, ``TEXT`` (with captions), ``KEY``,
        ``LABEL``, ``PATH``, ``DOMAIN``."""
        view = view or self.view
        key = self.key(idx)
        item: dict[str, Any] = {T.IMAGE: self.load_view(idx, view)}
        text = self.caption(idx)
        if text is not None:
            item[T.TEXT] = text
        item |= {T.KEY: key, T.LABEL: label_tensor(key), T.PATH: self.uri(idx, view), T.DOMAIN: view}
        return item

    def vocabulary(self) -> list[str]:
        """Every word of ``vocabulary_texts()``, sorted (for closed-vocabulary text encoders)."""
        return words_of(self.vocabulary_texts())
