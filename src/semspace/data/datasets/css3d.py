"""``css3d``: TIRG's CSS3D composed-retrieval benchmark (3D renders, and the 2D blobs LTT transfers from).

Data: Vo et al., "Composing Text and Image for Image Retrieval - An Empirical Odyssey" (CVPR 2019,
arXiv:1812.07119), google/tirg ``datasets.py::CSSDataset``; used by LTT (arXiv:1903.00793) for 2D -> 3D transfer.
Layout under ``root`` (``papers/datasets.md``, Part D)::

    css_toy_dataset_novel2_small.dup.npy   a pickled dict {"train": ..., "test": ...}; each split holds
        objects_img: per image, a list of {"pos": [y, x] in [0, 1], "shape", "color", "size"}
        mods: list of {"from": [image ids], "to": [image ids], "to_str": "modification text"}
        labels (optional): per image, a scene-equivalence id (TIRG's "caption")
    images/css_{split}_{idx:06d}.png       the 3D render of image idx (needed for view/paired_view "render3d")

Queries (TIRG's ``generate_test_queries_``, used for both splits so that items are pure in the index): every
``(from[k], to[k])`` pair of every mod, mod by mod. ``MOD_TEXT`` is the mod's ``to_str``; ``KEY``/``TARGET_KEY``
are ``str(labels[i])`` (the image id when ``labels`` is absent), so a hit is a gallery image whose label equals
the target's, as in TIRG's test. The gallery is every image of the split, and ``SOURCE_INDEX`` is the source
image id (TIRG removes it from its own ranking). TIRG samples training triplets at random; here the sampler
shuffles the fixed list of pairs instead. The file is a pickle: only open annotation files you trust.

"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from semspace import types as T
from semspace.data.datasets.composed import ComposedRetrievalDataset, CompositionGallery
from semspace.data.datasets.css_blobs import check_css_object, render_css_blobs
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

ANNOTATIONS = "css_toy_dataset_novel2_small.dup.npy"
VIEWS: tuple[str, ...] = ("render3d", "blobs2d")
_WHAT = "TIRG's CSS3D annotations, see docs/datasets.md"


@DATASETS.register("css3d")
class CSS3DDataset(ComposedRetrievalDataset):
    """CSS3D modification triplets as dict items keyed by ``semspace.types``.

    Items: ``IMAGE`` (source in ``view``), ``TARGET_IMAGE`` (with ``targets``), ``PAIRED_IMAGE`` (source in
    ``paired_view``), ``MOD_TEXT``, ``KEY``/``TARGET_KEY``, ``LABEL``/``TARGET_LABEL`` (int64 ``stable_int`` of the
    keys), ``SOURCE_INDEX`` (int64 source image id = gallery position), ``DOMAIN`` (= ``view``), ``PATH`` (the
    source PNG; for ``blobs2d`` the annotation URI ``<npy>#<split>/<id>``), ``INDEX``. CSS has no captions, so
    there is no ``TEXT``.

    Args:
        root: the CSS folder (holding the ``.npy`` file and ``images/``).
        split: ``"train"`` or ``"test"``.
        transform: image transform (``build_transform(cfg)``); without it images are RGB ``PIL.Image``s.
        view: ``"render3d"`` (the PNG renders) or ``"blobs2d"`` (drawn from ``objects_img`` by TIRG's renderer).
        paired_view: the other view, returned as ``PAIRED_IMAGE`` of the same source image (aligns 2D and 3D).
        targets: load ``TARGET_IMAGE`` too.

    Raises:
        DataError: the annotation file or ``images/`` is missing, or the annotations are malformed (the message
            names the file, split, mod or image index and what was expected).
        ConfigError: unknown ``split``, ``view`` or ``paired_view``.

    Example:
        >>> ds = create_dataset("css3d", root="data/CSS", split="test", view="blobs2d", paired_view="render3d")
        >>> ds[0]["mod_text"], len(ds.gallery())
    """

    name = "css3d"
    available_splits = ("train", "test")

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        transform: Callable[[Any], Any] | None = None,
        view: str = "render3d",
        paired_view: str | None = None,
        targets: bool = True,
    ) -> None:
        if view not in VIEWS:
            raise ConfigError(f"css3d: view must be one of {list(VIEWS)}, got {view!r}")
        if paired_view is not None and (paired_view not in VIEWS or paired_view == view):
            other = [v for v in VIEWS if v != view]
            raise ConfigError(f"css3d: paired_view must be None or {other} (the other view), got {paired_view!r}")
        self.view, self.paired_view, self.targets = view, paired_view, targets
        super().__init__(root, split, transform)

    # ---- layout ---------------------------------------------------------------------------------
    def validate_layout(self) -> None:
        """Loads and checks the annotations of ``split``; requires ``images/`` when a view needs the PNGs."""
        self.npy = self.root / ANNOTATIONS
        if not self.npy.is_file():
            raise DataError(f"css3d: expected {self.npy} ({_WHAT}); not found")
        if "render3d" in (self.view, self.paired_view):
            self._require_renders()
        data = self._load()
        if self.split not in self.available_splits:
            return  # check_split names the available splits
        if not isinstance(data, dict) or self.split not in data:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise DataError(f"css3d: {self.npy} has no split {self.split!r} (found {found}); expected {_WHAT}")
        part = data[self.split]
        for key in ("objects_img", "mods"):
            if not isinstance(part, dict) or key not in part:
                raise DataError(f"css3d: {self.npy} split {self.split!r} has no {key!r} list; expected {_WHAT}")
        self.objects: list[Any] = list(part["objects_img"])
        n = len(self.objects)
        labels = part.get("labels")
        if labels is not None and len(labels) != n:
            raise DataError(
                f"css3d: {self.npy} split {self.split!r}: 'labels' has {len(labels)} entries for {n} images"
            )
        self.keys: list[str] = [str(v) for v in labels] if labels is not None else [str(i) for i in range(n)]
        self._objects_checked = False
        if "blobs2d" in (self.view, self.paired_view):
            self._check_objects()
        self.mod_texts, pairs = self._parse_mods(part["mods"], n)
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 3)  # (Q, 3): mod, source id, target id

    def _load(self) -> Any:
        try:
            arr = np.load(self.npy, allow_pickle=True, encoding="latin1")  # TIRG's file is a Python 2 pickle
            return arr.item() if isinstance(arr, np.ndarray) and arr.dtype == object and arr.ndim == 0 else arr
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            raise DataError(f"css3d: cannot read {self.npy}: {exc}; expected {_WHAT}") from None

    def _require_renders(self) -> None:
        self.require("images", f"the CSS3D renders images/css_{self.split}_NNNNNN.png (NNNNNN: image id)", kind="dir")

    def _check_objects(self) -> None:
        """Every object of the split can be drawn by the blob renderer (checked once, before any blobs2d item)."""
        if self._objects_checked:
            return
        for i, objs in enumerate(self.objects):
            if not isinstance(objs, (list, tuple)):
                raise DataError(f"css3d: {self.npy} split {self.split!r} objects_img[{i}] is not a list of objects")
            for k, obj in enumerate(objs):
                problem = check_css_object(obj)
                if problem is not None:
                    raise DataError(f"css3d: {self.npy} split {self.split!r} objects_img[{i}][{k}]: {problem}")
        self._objects_checked = True

    def _parse_mods(self, mods: Any, n: int) -> tuple[list[str], list[tuple[int, int, int]]]:
        texts: list[str] = []
        pairs: list[tuple[int, int, int]] = []
        where = f"css3d: {self.npy} split {self.split!r}"
        for m, mod in enumerate(mods):
            if not isinstance(mod, dict) or not {"from", "to", "to_str"} <= set(mod):
                raise DataError(f"{where} mod {m}: expected a dict with 'from', 'to' and 'to_str'")
            src, tgt = list(mod["from"]), list(mod["to"])
            if len(src) != len(tgt):
                raise DataError(
                    f"{where} mod {m}: 'from' has {len(src)} image ids but 'to' has {len(tgt)}; "
                    "expected parallel lists of equal length"
                )
            for a, b in zip(src, tgt, strict=True):
                if not (_is_id(a, n) and _is_id(b, n)):
                    raise DataError(f"{where} mod {m}: image id pair ({a!r}, {b!r}) is not two ints in [0, {n - 1}]")
                pairs.append((m, int(a), int(b)))
            if not isinstance(mod["to_str"], str):
                raise DataError(f"{where} mod {m}: 'to_str' is {mod['to_str']!r}; expected the modification text")
            texts.append(mod["to_str"])
        return texts, pairs

    # ---- images ---------------------------------------------------------------------------------
    def image_path(self, img_id: int) -> str:
        """The PNG render of image ``img_id`` of this split."""
        return str(self.root / "images" / f"css_{self.split}_{img_id:06d}.png")

    def load_view(self, img_id: int, view: str) -> Any:
        """Image ``img_id`` in ``view`` (``"render3d"`` PNG or ``"blobs2d"`` drawing), transformed."""
        if view == "render3d":
            return self.read_image(self.image_path(img_id))
        img = Image.fromarray(render_css_blobs(self.objects[img_id]))  # (64, 64, 3) uint8 -> RGB
        return self.transform(img) if self.transform is not None else img

    def uri(self, img_id: int, view: str) -> str:
        """Where image ``img_id`` in ``view`` comes from: the PNG, or ``<npy>#<split>/<id>`` for blobs."""
        return self.image_path(img_id) if view == "render3d" else f"{self.npy}#{self.split}/{img_id}"

    # ---- items (layout shared by ComposedRetrievalDataset) ---------------------------------------
    def __len__(self) -> int:
        return len(self.pairs)

    def query(self, idx: int) -> tuple[int, str, int]:
        """Query ``idx``: the ``(from, to)`` pair of a mod, and the mod's text."""
        mod, src, tgt = (int(v) for v in self.pairs[idx])
        return src, self.mod_texts[mod], tgt

    def key(self, img_id: int) -> str:
        """``str(labels[img_id])`` (the image id when the annotations have no labels)."""
        return self.keys[img_id]

    def get_item(self, idx: int) -> dict[str, Any]:
        item = super().get_item(idx)
        if self.paired_view is not None:
            item[T.PAIRED_IMAGE] = self.load_view(int(item[T.SOURCE_INDEX]), self.paired_view)
        return item

    def gallery(self, view: str | None = None) -> CompositionGallery:
        """Every image of the split in ``view`` (default: this dataset's view), searched by the queries."""
        gview = view or self.view
        if gview not in VIEWS:
            raise ConfigError(f"css3d: gallery view must be one of {list(VIEWS)}, got {gview!r}")
        if gview == "render3d":
            self._require_renders()
        else:
            self._check_objects()
        return CompositionGallery(self, f"css3d/{self.split}/{gview}", view=gview)

    def gallery_size(self) -> int:
        """Number of gallery images (all images of the split)."""
        return len(self.objects)

    def vocabulary_texts(self) -> list[str]:
        """The split's modification texts (CSS has no captions)."""
        return self.mod_texts


def _is_id(v: Any, n: int) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) < n
