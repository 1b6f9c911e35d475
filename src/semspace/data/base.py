"""``BaseDataset``: the base of every on-disk loader (user folders, tables, features, benchmarks).

Shape follows PML's ``datasets/base_dataset.py`` and faiss's ``contrib/datasets.py`` (STYLE F.21):
``__init__(root, split, transform)`` runs ``validate_layout()`` first, so a wrong folder is reported
before anything is read, then checks ``split`` against ``get_available_splits()``. The ``require*``
helpers raise ``DataError`` naming the missing file or folder and what was expected there.
Subclasses implement ``__len__`` and ``get_item(idx)``; ``__getitem__`` adds ``INDEX`` to every item
so distributed evaluation can scatter features back into place (STYLE D.15).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from PIL import Image
from torch.utils.data import Dataset

from semspace.data.images import load_image
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError, DataError
from semspace.types import INDEX

logger = logging.getLogger(__name__)

PathKind = Literal["file", "dir", "any"]


class BaseDataset(Dataset[dict[str, Any]]):
    """Validates the layout and the split, and gives every item its ``INDEX``.

    Subclasses set ``available_splits`` (or override ``get_available_splits`` when the splits are
    read from the data, e.g. a table's ``split`` column), implement ``__len__`` and
    ``get_item(idx) -> dict``, and may override ``validate_layout``.

    Args:
        root: the dataset folder (or the folder of the dataset's file).
        split: which split to serve; must be one of ``get_available_splits()``.
        transform: applied to each image (``data.transforms.build_transform(cfg)``); with ``None``
            images are returned as RGB ``PIL.Image``s.

    Raises:
        DataError: the layout on disk is not what the dataset expects.
        ConfigError: ``split`` is not available.
    """

    available_splits: ClassVar[tuple[str, ...]] = ()

    def __init__(self, root: str | os.PathLike[str], split: str, transform: Callable[[Any], Any] | None = None) -> None:
        self.root = Path(root)
        self.split = split
        self.transform = transform
        self.validate_layout()
        self.check_split(split)

    # ---- contract for subclasses ----------------------------------------------------------------
    def get_available_splits(self) -> tuple[str, ...]:
        """The splits this dataset can serve (default: the class attribute ``available_splits``)."""
        if not self.available_splits:
            raise NotImplementedError(f"{type(self).__name__} must set available_splits")
        return self.available_splits

    def validate_layout(self) -> None:
        """Hook run first in ``__init__``: check the files and folders, raising ``DataError`` early."""

    def get_item(self, idx: int) -> dict[str, Any]:
        """Item ``idx`` (already range-checked and non-negative) as a dict of ``semspace.types`` keys."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    # ---- shared behaviour -----------------------------------------------------------------------
    def __getitem__(self, idx: int) -> dict[str, Any]:
        n = len(self)
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__} index {i} out of range for {n} items")
        if i < 0:
            i += n
        item = self.get_item(i)
        item[INDEX] = i
        return item

    def check_split(self, split: str) -> str:
        """Returns ``split`` if available, else raises ``ConfigError`` listing the available splits."""
        splits = self.get_available_splits()
        if split not in splits:
            raise ConfigError(
                f"{type(self).__name__} ({self.root}): unknown split {split!r}; available: {list(splits)}"
            )
        return split

    def require(self, path: str | os.PathLike[str], what: str, *, kind: PathKind = "any") -> Path:
        """Returns ``path`` (relative to ``root`` unless absolute) if it exists as a ``kind``.

        Args:
            path: the file or folder.
            what: what should be there, for the message (``"the training photos, one folder per class"``).
            kind: ``"file"``, ``"dir"`` or ``"any"``.

        Raises:
            DataError: ``"<Dataset>: missing folder <path>; expected <what>"`` (or "is not a file/folder").
        """
        p = self.root / path
        noun = {"file": "file", "dir": "folder", "any": "path"}[kind]
        if not p.exists():
            raise DataError(f"{type(self).__name__}: missing {noun} {p}; expected {what}")
        if kind == "file" and not p.is_file():
            raise DataError(f"{type(self).__name__}: {p} is not a file; expected {what}")
        if kind == "dir" and not p.is_dir():
            raise DataError(f"{type(self).__name__}: {p} is not a folder; expected {what}")
        return p

    def require_all(self, paths: Mapping[str, str], *, kind: PathKind = "any", layout: str = "") -> dict[str, Path]:
        """Checks several paths at once and names every missing one in a single ``DataError``.

        Args:
            paths: ``{relative path: what is expected there}``.
            kind: ``"file"``, ``"dir"`` or ``"any"``.
            layout: a short description of the whole expected layout, appended to the message.
        """
        missing = [p for p in paths if not _exists_as(self.root / p, kind)]
        if missing:
            noun = {"file": "file", "dir": "folder", "any": "path"}[kind] + ("s" if len(missing) > 1 else "")
            details = "; ".join(f"{p}: {paths[p]}" for p in missing)
            tail = f" (expected layout: {layout})" if layout else ""
            raise DataError(f"{type(self).__name__}: missing {noun} under {self.root}: {details}{tail}")
        return {p: self.root / p for p in paths}

    def read_image(self, path: str | os.PathLike[str]) -> Image.Image | Any:
        """Loads an image safely and applies ``transform``.

        When ``transform`` carries a ``PreprocessCfg`` (``build_transform`` output), its background and
        channel count are used when decoding; otherwise RGB on white.

        Raises:
            DataError: the file is missing or not a readable image (the message names it).
        """
        cfg = getattr(self.transform, "cfg", None)
        if isinstance(cfg, PreprocessCfg):
            img = load_image(path, background=cfg.background, channels=cfg.channels)
        else:
            img = load_image(path)
        return self.transform(img) if self.transform is not None else img

    def __repr__(self) -> str:
        try:
            n = str(len(self))
        except Exception:  # a half-built dataset (error inside __init__) still gets a repr
            n = "?"
        return f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, items={n})"


def _exists_as(p: Path, kind: PathKind) -> bool:
    return p.is_file() if kind == "file" else p.is_dir() if kind == "dir" else p.exists()
