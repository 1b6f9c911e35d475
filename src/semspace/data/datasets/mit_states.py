"""``mit_states``: the MIT-States composed-retrieval benchmark (state changes of objects) as used by TIRG.

Data: Isola, Lim, Adelson, "Discovering States and Transformations in Image Collections" (CVPR 2015); protocol of
TIRG (Vo et al., CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py::MITStates``). Layout under ``root``
(``papers/datasets.md``, Part D)::

    images/<adjective> <noun>/*.jpg     e.g. images/ripe tomato/image_123.jpg (the folder name holds a space)

Folders without a space and those named ``adj <noun>`` (the unannotated images) are skipped, as in TIRG. The
``test`` split is every image of the 49 nouns TIRG holds out (``TEST_NOUNS``), ``train`` all the others, so test
nouns are never seen in training. Each image's ``KEY`` is its folder name ``"<adj> <noun>"``; a hit is a gallery
image with the target's key (TIRG's test).

Queries (TIRG's ``generate_test_queries_``, used for both splits): for every image, in order, and every *other*
adjective its noun has in the split (in order of first appearance), the query is the image plus the target
adjective itself as ``MOD_TEXT``, and the target is ``"<target adj> <noun>"``. ``TARGET_IMAGE`` is one image of
the target folder drawn from ``rng_for(seed, split, idx)`` (TIRG draws training targets with the global RNG).
Images are ordered by folder name, then file name (TIRG uses ``os.listdir`` order). The gallery is every image of
the split; ``SOURCE_INDEX`` is the source image's position in it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from semspace.data.datasets.composed import ComposedRetrievalDataset
from semspace.data.images import IMAGE_EXTENSIONS
from semspace.data.registry import DATASETS
from semspace.errors import DataError
from semspace.utils.seed import rng_for

logger = logging.getLogger(__name__)

TEST_NOUNS: frozenset[str] = frozenset(
    """armor bracelet bush camera candy castle ceramic cheese clock clothes coffee fan fig fish foam forest fruit
    furniture garden gate glass horse island laptop lead lightning mirror orange paint persimmon plastic plate potato
    road rubber sand shell sky smoke steel stream table tea tomato vacuum wax wheel window wool""".split()
)
"""The 49 nouns TIRG holds out for testing (google/tirg ``datasets.py::MITStates``)."""
_SPLIT_KEYS = {"train": 0, "test": 1}


@DATASETS.register("mit_states")
class MITStatesDataset(ComposedRetrievalDataset):
    """MIT-States (image, target adjective) queries as dict items keyed by ``semspace.types``.

    Items: ``IMAGE`` (source), ``TARGET_IMAGE`` (with ``targets``), ``MOD_TEXT`` (the target adjective),
    ``TEXT``/``TARGET_TEXT`` and ``KEY``/``TARGET_KEY`` (``"<adj> <noun>"``), ``LABEL``/``TARGET_LABEL`` (int64
    ``stable_int`` of the keys), ``SOURCE_INDEX`` (int64 gallery position of the source), ``DOMAIN``
    (``"photo"``), ``PATH``, ``INDEX``.

    Args:
        root: the MIT-States folder (holding ``images/``).
        split: ``"train"`` or ``"test"`` (the 49 held-out nouns).
        transform: image transform (``build_transform(cfg)``); without it images are RGB ``PIL.Image``s.
        targets: load ``TARGET_IMAGE`` too.
        seed: draws the target image of each query among the images of the target folder.

    Raises:
        DataError: ``images/`` is missing, a folder name is not ``"<adjective> <noun>"``, or the split holds no
            image.
        ConfigError: unknown ``split``.

    Example:
        >>> ds = create_dataset("mit_states", root="data/mitstates", split="test")
        >>> ds[0]["mod_text"], ds[0]["target_key"]  # ('ripe', 'ripe tomato')
    """

    name = "mit_states"
    available_splits = ("train", "test")

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        transform: Callable[[Any], Any] | None = None,
        targets: bool = True,
        seed: int = 0,
    ) -> None:
        self.targets, self.seed = targets, int(seed)
        super().__init__(root, split, transform)
        self._build_queries()

    # ---- layout ---------------------------------------------------------------------------------
    def validate_layout(self) -> None:
        """Requires ``images/`` and lists the split's images, one ``"<adj> <noun>"`` folder at a time."""
        images = self.require("images", "the MIT-States image folders 'images/<adjective> <noun>/*.jpg'", kind="dir")
        self.paths: list[str] = []  # relative to root
        self.adjs: list[str] = []
        self.nouns: list[str] = []
        if self.split not in self.available_splits:
            return
        exts = set(IMAGE_EXTENSIONS)
        for folder in sorted(p for p in images.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if " " not in folder.name:
                continue
            words = folder.name.split()
            if len(words) != 2:
                raise DataError(
                    f"mit_states: folder {folder} has {len(words)} words; expected '<adjective> <noun>' (one space)"
                )
            adj, noun = words
            if adj == "adj" or (noun in TEST_NOUNS) != (self.split == "test"):
                continue
            for f in sorted(folder.iterdir()):
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in exts:
                    self.paths.append(f"images/{folder.name}/{f.name}")
                    self.adjs.append(adj)
                    self.nouns.append(noun)
        if not self.paths:
            which = "of the 49 test nouns" if self.split == "test" else "outside the 49 test nouns"
            raise DataError(f"mit_states: no images {which} under {images}; expected '<adjective> <noun>/*.jpg'")

    def _build_queries(self) -> None:
        self.images_of: dict[str, list[int]] = {}  # "<adj> <noun>" -> image ids
        self.noun_adjs: dict[str, list[str]] = {}  # noun -> adjectives in order of first appearance
        for i, (adj, noun) in enumerate(zip(self.adjs, self.nouns, strict=True)):
            self.images_of.setdefault(f"{adj} {noun}", []).append(i)
            adjs = self.noun_adjs.setdefault(noun, [])
            if adj not in adjs:
                adjs.append(adj)
        single = sorted(n for n, a in self.noun_adjs.items() if len(a) < 2)
        if single:
            logger.warning("mit_states %s: noun(s) with a single adjective give no queries: %s", self.split, single)
        src, tgt_adj = [], []
        for i, (adj, noun) in enumerate(zip(self.adjs, self.nouns, strict=True)):
            for t, target in enumerate(self.noun_adjs[noun]):
                if target != adj:
                    src.append(i)
                    tgt_adj.append(t)
        self.query_source = np.asarray(src, dtype=np.int64)  # (Q,) image id
        self.query_adj = np.asarray(tgt_adj, dtype=np.int64)  # (Q,) position in noun_adjs[noun]

    # ---- items (layout shared by ComposedRetrievalDataset) ---------------------------------------
    def key(self, img_id: int) -> str:
        """``"<adj> <noun>"`` of image ``img_id`` (its folder name)."""
        return f"{self.adjs[img_id]} {self.nouns[img_id]}"

    def caption(self, img_id: int) -> str:
        """``"<adj> <noun>"`` of image ``img_id``: MIT-States' caption is its key."""
        return self.key(img_id)

    def load_view(self, img_id: int, view: str) -> Any:
        """Image ``img_id`` (MIT-States has one view, ``"photo"``), transformed."""
        return self.read_image(self.root / self.paths[img_id])

    def uri(self, img_id: int, view: str) -> str:
        """The image file of ``img_id``."""
        return str(self.root / self.paths[img_id])

    def target_of(self, idx: int) -> tuple[int, str, int]:
        """Query ``idx`` as (source image id, target adjective, target image id drawn from the seed)."""
        src = int(self.query_source[idx])
        adj = self.noun_adjs[self.nouns[src]][int(self.query_adj[idx])]
        imgs = self.images_of[f"{adj} {self.nouns[src]}"]
        rng = rng_for(self.seed, _SPLIT_KEYS[self.split], idx)
        return src, adj, imgs[int(rng.integers(len(imgs)))]

    def query(self, idx: int) -> tuple[int, str, int]:
        """Query ``idx``: ``target_of(idx)``; the modification text is the target adjective itself."""
        return self.target_of(idx)

    def __len__(self) -> int:
        return len(self.query_source)

    def gallery_size(self) -> int:
        """Number of gallery images (all images of the split)."""
        return len(self.paths)

    def vocabulary_texts(self) -> list[str]:
        """Every ``"<adj> <noun>"`` of the split (the words of its captions and modification texts)."""
        return [*self.images_of]
