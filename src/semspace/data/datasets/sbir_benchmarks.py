"""Zero-shot SBIR benchmark loaders: Sketchy (+Extended), TU-Berlin (+Extended) and QuickDraw-Extended.

Layouts (``papers/datasets.md``, Part D):

* ``sketchy``: sketches ``256x256/sketch/tx_000000000000/<cls>/*.png``, photos
  ``256x256/photo/tx_000000000000/<cls>/*.jpg``; with ``extended: true`` also ``EXTEND_image_sketchy/<cls>/*``
  (Sketchy-Ext; its folders ``hot-air_balloon`` and ``jack-o-lantern`` match by letters). Splits: Shen et al.'s
  100/25 (``sketchy_sake_zeroshot1_unseen_cname_cid.txt``) or Yelamarthi et al.'s 104/21
  (``sketchy_yelamarthi2018_unseen21.txt``), both in ``sbir_class_semantics/splits/``.
* ``tuberlin``: sketches ``png/<class>/*.png``; photos (TU-Berlin-Ext) ``ImageResized/<class>/*``, whose folder names
  lack spaces and have typos (``tromobone``, ``chandeler``, ``griaffe``, ``diamod``, ``spidar``,
  ``wristwatching``), mapped to their classes. Split 220/30 (``tuberlin_sake_zeroshot_unseen_cname_cid.txt``).
* ``quickdraw_extended``: sketches ``QuickDraw_sketches_final/<cls>/*.png``, photos
  ``QuickDraw_images_final/<cls>/*``; 30 unseen classes (a split file with them).

Every loader takes the **unseen classes from a file** (``unseen_file``: one class a line, an optional trailing
class id as in SAKE's ``cname_cid`` files) and serves ``split: seen | unseen | all`` of one ``view`` (``sketch``:
``SKETCH`` key; ``photo``: ``IMAGE``). Class names are matched **by letters only**
(``re.sub('[^a-z]', '', name.lower())``), the rule of ``sbir_class_semantics/README.md``. The label space is every
class of the sketch folders, sorted (``class_names``; label = position), so seen and unseen items share it. The
layout is validated first: a missing folder, a class of the split file with no images, or a sketch class without
photos is a ``DataError`` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from semspace.data.base import BaseDataset
from semspace.data.images import IMAGE_EXTENSIONS
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, IMAGE, KEY, LABEL, PATH, SKETCH

TUBERLIN_PHOTO_TYPOS = {"tromobone": "trombone", "chandeler": "chandelier", "griaffe": "giraffe",
                        "diamod": "diamond", "spidar": "spider", "wristwatching": "wristwatch"}  # fmt: skip
VIEWS = ("sketch", "photo")


def letters(name: str) -> str:
    """The matching key of a class name: its lower-case letters only."""
    return re.sub("[^a-z]", "", str(name).lower())


def read_split_file(path: str | Path) -> list[str]:
    """Class names of a split file (``name`` or ``name id`` per line; blank lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"split file {p} does not exist; expected one class name a line (e.g. sbir_class_semantics/"
                        "splits/sketchy_sake_zeroshot1_unseen_cname_cid.txt)")  # fmt: skip
    names = []
    for line in p.read_text(encoding="utf-8").splitlines():
        parts = line.strip().rsplit(" ", 1)
        if not parts[0]:
            continue
        names.append(parts[0] if len(parts) == 2 and parts[1].isdigit() else line.strip())
    if not names:
        raise DataError(f"split file {p} names no class")
    return names


class ZeroShotSbirDataset(BaseDataset):
    """Shared loader (module docstring); subclasses give the folders.

    Args:
        root: the dataset folder.
        split: ``seen``, ``unseen`` or ``all`` classes.
        view: ``sketch`` or ``photo``.
        unseen_file: the split file of the unseen classes.
        max_per_class: keep at most this many items per class (the first in sorted order; 0: all).
        transform: image transform (set by the engine from the model's preprocessing).
    """

    available_splits = ("seen", "unseen", "all")
    sketch_dirs: ClassVar[tuple[str, ...]] = ()
    photo_dirs: ClassVar[tuple[str, ...]] = ()
    layout: ClassVar[str] = ""
    photo_renames: ClassVar[dict[str, str]] = {}  # letters of a photo folder -> letters of its class

    def __init__(self, root: str | Path, *, split: str = "seen", view: str = "sketch", unseen_file: str = "",
                 max_per_class: int = 0, transform: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        if view not in VIEWS:
            raise ConfigError(f"{type(self).__name__}: view must be one of {VIEWS}, got {view!r}")
        if not unseen_file:
            raise ConfigError(f"{type(self).__name__}: give unseen_file, the split file of the unseen classes")
        self.view, self.unseen_file, self.max_per_class = view, unseen_file, int(max_per_class)
        super().__init__(root, split, transform)

    def _photo_dirs(self) -> tuple[str, ...]:
        return self.photo_dirs

    def _classes(self, folders: list[Path], renames: dict[str, str]) -> dict[str, list[Path]]:
        """``{letters of the class: sorted image files}`` over every class folder of ``folders``."""
        out: dict[str, list[Path]] = {}
        for folder in folders:
            for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
                key = letters(sub.name)
                key = renames.get(key, key)
                files = [f for f in sorted(sub.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
                out.setdefault(key, []).extend(files)
        return out

    def validate_layout(self) -> None:
        if not self.root.is_dir():
            raise DataError(f"{type(self).__name__}: root {self.root} is not a folder (expected layout: {self.layout})")
        dirs = {d: "the sketches, one folder per class" for d in self.sketch_dirs}
        dirs |= {d: "the photos, one folder per class" for d in self._photo_dirs()}
        self.require_all(dirs, kind="dir", layout=self.layout)
        sketch_folders: dict[str, str] = {}
        for d in self.sketch_dirs:
            for sub in sorted(p for p in (self.root / d).iterdir() if p.is_dir() and not p.name.startswith(".")):
                sketch_folders.setdefault(letters(sub.name), sub.name)
        sketches = self._classes([self.root / d for d in self.sketch_dirs], {})
        photos = self._classes([self.root / d for d in self._photo_dirs()], self.photo_renames)
        if not sketches:
            raise DataError(f"{type(self).__name__}: no class folders under {self.root / self.sketch_dirs[0]}")
        no_photo = sorted(sketch_folders[k] for k in sketches if not photos.get(k))
        empty = sorted(sketch_folders[k] for k, v in sketches.items() if not v)
        if no_photo or empty:
            raise DataError(f"{type(self).__name__}: class(es) without photos {no_photo[:10]} or without sketches "
                            f"{empty[:10]} under {self.root}")  # fmt: skip
        unseen = read_split_file(self.unseen_file)
        missing = [u for u in unseen if letters(u) not in sketches]
        if missing:
            raise DataError(f"{type(self).__name__}: split file {self.unseen_file} names class(es) with no images "
                            f"under {self.root}: {missing[:10]}")  # fmt: skip
        self.class_names = sorted(sketch_folders.values(), key=letters)  # the label space
        self._label = {letters(n): i for i, n in enumerate(self.class_names)}
        self.unseen_classes = [sketch_folders[letters(u)] for u in unseen]
        chosen = {"all": set(self._label), "unseen": {letters(u) for u in unseen},
                  "seen": set(self._label) - {letters(u) for u in unseen}}[self.split]  # fmt: skip
        table = sketches if self.view == "sketch" else photos
        self.items: list[tuple[Path, int]] = []
        for key in sorted(chosen, key=lambda k: self._label[k]):
            files = table[key][: self.max_per_class] if self.max_per_class > 0 else table[key]
            self.items += [(f, self._label[key]) for f in files]

    def item_classes(self) -> list[str]:
        return [self.class_names[label] for _, label in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def get_item(self, idx: int) -> dict[str, Any]:
        path, label = self.items[idx]
        return {SKETCH if self.view == "sketch" else IMAGE: self.read_image(path), LABEL: label,
                KEY: self.class_names[label], PATH: str(path), DOMAIN: self.view}  # fmt: skip


@DATASETS.register("sketchy")
class SketchyDataset(ZeroShotSbirDataset):
    """Sketchy (+Extended with ``extended: true``); module docstring."""

    sketch_dirs = ("256x256/sketch/tx_000000000000",)
    photo_dirs = ("256x256/photo/tx_000000000000",)
    layout = ("256x256/sketch/tx_000000000000/<cls>/*.png, 256x256/photo/tx_000000000000/<cls>/*.jpg "
              "[, EXTEND_image_sketchy/<cls>/*]")  # fmt: skip

    def __init__(self, root: str | Path, *, extended: bool = False, **kw: Any) -> None:
        self.extended = bool(extended)
        super().__init__(root, **kw)

    def _photo_dirs(self) -> tuple[str, ...]:
        return self.photo_dirs + (("EXTEND_image_sketchy",) if self.extended else ())


@DATASETS.register("tuberlin")
class TuBerlinDataset(ZeroShotSbirDataset):
    """TU-Berlin with the TU-Berlin-Ext photos (``ImageResized``, typos mapped); module docstring."""

    sketch_dirs = ("png",)
    photo_dirs = ("ImageResized",)
    layout = "png/<class>/*.png, ImageResized/<class>/*.JPEG"
    photo_renames = TUBERLIN_PHOTO_TYPOS


@DATASETS.register("quickdraw_extended")
class QuickDrawExtendedDataset(ZeroShotSbirDataset):
    """QuickDraw-Extended; module docstring."""

    sketch_dirs = ("QuickDraw_sketches_final",)
    photo_dirs = ("QuickDraw_images_final",)
    layout = "QuickDraw_sketches_final/<cls>/*.png, QuickDraw_images_final/<cls>/*.jpg"
