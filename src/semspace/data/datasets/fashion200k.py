"""``fashion200k``: the Fashion200k composed-retrieval benchmark as used by TIRG.

Data: Han et al., "Automatic Spatially-aware Fashion Concept Discovery" (ICCV 2017); protocol of TIRG (Vo et al.,
CVPR 2019, arXiv:1812.07119; google/tirg ``datasets.py::Fashion200k``). Layout under ``root``
(``papers/datasets.md``, Part D)::

    labels/{dress,jacket,pants,skirt,top}_{train,test}_detect_all.txt
        one image per line: "<image path>\\t<detection score>\\t<caption>"
    <image path>          e.g. women/dresses/.../<id>/<id>_0.jpeg, relative to root
    test_queries.txt      (optional, TIRG's) one test query per line: "<source path> <target path>"

Captions get TIRG's post-processing (strip; ``.``, ``?``, ``&``, ``*`` become ``dotmark``, ``questionmark``,
``andmark``, ``starmark``) plus collapsed spaces; a caption is the ``KEY`` of its images, so a hit is a gallery
image with the target's caption (TIRG's test). Images are ordered by category (sorted), then by line.

Pairs (TIRG's ``caption_index_init_``): a *parent* of a caption is the caption with one word removed; captions
sharing a parent are one word apart, and ``MOD_TEXT`` is ``"replace <w_src> with <w_tgt>"`` (TIRG's
``get_different_word``: the first source word missing from the target, the first target word missing from the
source). Deliberate difference: TIRG removes a word with ``str.replace``, which also cuts it out of longer words
(``"a"`` out of ``"black"``); here exactly one whole word is removed.

* ``train``: one item per *modifiable* image (its caption shares a parent with another caption); TIRG samples
  (parent, target caption, target image) with the global RNG at every step; here item ``i`` draws them from
  ``rng_for(seed, 0, i)``, so it is a pure function of ``(seed, i)`` (change ``seed`` for other draws).
* ``test``: the lines of ``test_queries.txt`` when present; otherwise one query per modifiable test image,
  drawn the same way from ``rng_for(GENERATED_QUERY_SEED, 1, i)`` (seed 0, fixed so everyone gets the same set).

The gallery is every image of the split; ``SOURCE_INDEX`` is the source image's position in it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semspace.data.datasets.composed import ComposedRetrievalDataset
from semspace.data.registry import DATASETS
from semspace.errors import DataError
from semspace.utils.seed import rng_for

logger = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = ("dress", "jacket", "pants", "skirt", "top")
TEST_QUERIES = "test_queries.txt"
GENERATED_QUERY_SEED = 0
_SPLIT_KEYS = {"train": 0, "test": 1}
_MARKS = ((".", "dotmark"), ("?", "questionmark"), ("&", "andmark"), ("*", "starmark"))
_LINE = "'<image path>\\t<detection score>\\t<caption>'"


def clean_caption(text: str) -> str:
    """TIRG's ``caption_post_process`` (punctuation marks spelled out), with runs of spaces collapsed."""
    for mark, word in _MARKS:
        text = text.replace(mark, word)
    return " ".join(text.split())


def different_words(source: str, target: str) -> tuple[str, str]:
    """TIRG's ``get_different_word``: the first source word not in the target, and vice versa.

    When every word is shared, TIRG's loop leaves the last word of each caption; so does this function.
    """
    src, tgt = source.split(), target.split()
    w_src = next((w for w in src if w not in tgt), src[-1])
    w_tgt = next((w for w in tgt if w not in src), tgt[-1])
    return w_src, w_tgt


def mod_text(source: str, target: str) -> str:
    """``"replace <w_src> with <w_tgt>"`` for two captions (TIRG's modification text)."""
    w_src, w_tgt = different_words(source, target)
    return f"replace {w_src} with {w_tgt}"


class CaptionGraph:
    """Captions one word apart: parents (one word removed) and the images of each caption.

    Args:
        captions: the caption of every image, in image order.
    """

    def __init__(self, captions: list[str]) -> None:
        self.images: dict[str, list[int]] = {}
        for i, c in enumerate(captions):
            self.images.setdefault(c, []).append(i)
        children: dict[str, dict[str, None]] = {}  # parent -> its captions (an insertion-ordered set)
        for c in self.images:
            words = c.split()
            for k in range(len(words)):
                children.setdefault(" ".join(words[:k] + words[k + 1 :]), {})[c] = None
        self.children = {p: list(kids) for p, kids in children.items() if len(kids) >= 2}
        self.parents: dict[str, list[str]] = {}
        for p, kids in self.children.items():
            for c in kids:
                self.parents.setdefault(c, []).append(p)
        self.modifiable = [i for i, c in enumerate(captions) if c in self.parents]  # image ids, ascending

    def draw_target(self, caption: str, rng: np.random.Generator) -> tuple[str, int]:
        """A random sibling caption of ``caption`` (via a random parent) and a random image of it."""
        parents = self.parents[caption]
        parent = parents[int(rng.integers(len(parents)))]
        siblings = [c for c in self.children[parent] if c != caption]
        target = siblings[int(rng.integers(len(siblings)))]
        imgs = self.images[target]
        return target, imgs[int(rng.integers(len(imgs)))]


@DATASETS.register("fashion200k")
class Fashion200kDataset(ComposedRetrievalDataset):
    """Fashion200k modification queries as dict items keyed by ``semspace.types``.

    Items: ``IMAGE`` (source), ``TARGET_IMAGE`` (with ``targets``), ``MOD_TEXT``, ``TEXT``/``TARGET_TEXT``
    (captions), ``KEY``/``TARGET_KEY`` (= the captions), ``LABEL``/``TARGET_LABEL`` (int64 ``stable_int``),
    ``SOURCE_INDEX`` (int64 gallery position of the source), ``DOMAIN`` (``"photo"``), ``PATH``, ``INDEX``.

    Args:
        root: the Fashion200k folder (``labels/``, the image folders, optionally ``test_queries.txt``).
        split: ``"train"`` or ``"test"``.
        transform: image transform (``build_transform(cfg)``); without it images are RGB ``PIL.Image``s.
        targets: load ``TARGET_IMAGE`` too.
        seed: draws the training targets (the test queries never depend on it).

    Raises:
        DataError: a labels file is missing or has a malformed line, or ``test_queries.txt`` names an unknown
            image (messages name the file and line).
        ConfigError: unknown ``split``.

    Example:
        >>> ds = create_dataset("fashion200k", root="data/fashion200k", split="test")
        >>> ds[0]["mod_text"]  # 'replace blue with black'
    """

    name = "fashion200k"
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
        self.graph = CaptionGraph(self.captions)
        self.queries = self._read_test_queries() if split == "test" else None  # (Q, 2) source, target ids
        if self.queries is None:
            logger.info("fashion200k %s: %d of %d images are modifiable", split, len(self.graph.modifiable), len(self))

    # ---- layout ---------------------------------------------------------------------------------
    def label_files(self) -> dict[str, str]:
        """``{relative path: what it holds}`` of the split's labels files, by category."""
        return {
            f"labels/{c}_{self.split}_detect_all.txt": f"the Fashion200k '{c}' {self.split} labels (lines {_LINE})"
            for c in CATEGORIES
        }

    def validate_layout(self) -> None:
        """Requires ``labels/`` and the split's five labels files, and parses every line."""
        self.require("labels", "the Fashion200k labels folder (<category>_<split>_detect_all.txt files)", kind="dir")
        self.paths: list[str] = []
        self.captions: list[str] = []
        self.origins: list[tuple[str, int]] = []  # (labels file, line) of each image, for messages
        if self.split not in self.available_splits:
            return
        files = self.require_all(self.label_files(), kind="file", layout="labels/<category>_<split>_detect_all.txt")
        for rel, path in files.items():
            self._parse_labels(rel, path)
        if not self.paths:
            raise DataError(f"fashion200k: the {self.split} labels files under {self.root / 'labels'} list no images")

    def _parse_labels(self, rel: str, path: Path) -> None:
        with open(path, encoding="utf-8") as fh:
            for line, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                fields = raw.rstrip("\r\n").split("\t")
                if len(fields) < 3 or any(f.strip() for f in fields[3:]):
                    raise DataError(
                        f"fashion200k: {path} line {line}: expected 3 tab-separated fields {_LINE}, got {len(fields)}"
                    )
                image, score, caption = fields[0].strip(), fields[1].strip(), clean_caption(fields[2])
                try:
                    float(score)
                except ValueError:
                    raise DataError(
                        f"fashion200k: {path} line {line}: detection score {score!r} is not a number; expected {_LINE}"
                    ) from None
                if not image or not caption:
                    raise DataError(f"fashion200k: {path} line {line}: empty image path or caption; expected {_LINE}")
                self.paths.append(image)
                self.captions.append(caption)
                self.origins.append((rel, line))

    def _read_test_queries(self) -> np.ndarray | None:
        path = self.root / TEST_QUERIES
        if not path.is_file():
            logger.info("fashion200k: no %s; generating test queries (seed %d)", path, GENERATED_QUERY_SEED)
            return None
        index = {p: i for i, p in enumerate(self.paths)}
        pairs: list[tuple[int, int]] = []
        with open(path, encoding="utf-8") as fh:
            for line, raw in enumerate(fh, start=1):
                fields = raw.split()
                if not fields:
                    continue
                if len(fields) != 2:
                    raise DataError(
                        f"fashion200k: {path} line {line}: expected '<source path> <target path>', "
                        f"got {len(fields)} fields"
                    )
                for f in fields:
                    if f not in index:
                        raise DataError(f"fashion200k: {path} line {line}: image {f!r} is not in the test labels files")
                pairs.append((index[fields[0]], index[fields[1]]))
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)  # (Q, 2)

    # ---- items (layout shared by ComposedRetrievalDataset) ---------------------------------------
    def load(self, img_id: int) -> Any:
        """Image ``img_id`` of the split, transformed (errors name its labels file and line)."""
        try:
            return self.read_image(self.root / self.paths[img_id])
        except DataError as exc:
            rel, line = self.origins[img_id]
            raise DataError(f"fashion200k: {exc} (listed in {rel} line {line})") from None

    def load_view(self, img_id: int, view: str) -> Any:
        """Image ``img_id`` (Fashion200k has one view, ``"photo"``): ``load(img_id)``."""
        return self.load(img_id)

    def uri(self, img_id: int, view: str) -> str:
        """The image file of ``img_id``."""
        return str(self.root / self.paths[img_id])

    def key(self, img_id: int) -> str:
        """The caption of image ``img_id``: images with the same caption are hits for each other."""
        return self.captions[img_id]

    def caption(self, img_id: int) -> str:
        """The (cleaned) caption of image ``img_id``."""
        return self.captions[img_id]

    def pair(self, idx: int) -> tuple[int, int]:
        """Source and target image ids of query ``idx``."""
        if self.queries is not None:
            return int(self.queries[idx, 0]), int(self.queries[idx, 1])
        src = self.graph.modifiable[idx]
        seed = self.seed if self.split == "train" else GENERATED_QUERY_SEED
        _, tgt = self.graph.draw_target(self.captions[src], rng_for(seed, _SPLIT_KEYS[self.split], idx))
        return src, tgt

    def query(self, idx: int) -> tuple[int, str, int]:
        """Query ``idx``: ``pair(idx)`` and TIRG's ``"replace <w_src> with <w_tgt>"`` between their captions."""
        src, tgt = self.pair(idx)
        return src, mod_text(self.captions[src], self.captions[tgt]), tgt

    def __len__(self) -> int:
        return len(self.queries) if self.queries is not None else len(self.graph.modifiable)

    def gallery_size(self) -> int:
        """Number of gallery images (all images of the split)."""
        return len(self.paths)

    def vocabulary_texts(self) -> list[str]:
        """The split's distinct captions and the words of the modification texts."""
        return [*dict.fromkeys(self.captions), "replace with"]
