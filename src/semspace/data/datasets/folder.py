"""``folder``: a folder of images a user brings (DESIGN §4, ``--data folder:PATH``).

The folder is scanned recursively (hidden files and folders skipped, symlinked folders not
followed, sorted for a stable order); only regular files are read: FIFOs, sockets, devices and broken links
are listed in ``skipped``, never opened, and an index folder inside the folder is not read (``scan_images``).
When images sit in first-level sub-folders, the sub-folder
name is the class (the ImageFolder convention of torchvision and of Sketchy/TU-Berlin): ``LABEL`` is
the index of the class in the sorted class names and ``KEY`` the name. The label space is ``class_names``
(label = position), the attribute every labelled dataset answers (SSGN reads it to learn the classes it trains
on; ``classes`` is the same names as a tuple). Images directly under the
root are unlabelled (``LABEL`` -1, ``KEY`` ""); a root that mixes both is accepted with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from semspace.data.base import BaseDataset
from semspace.data.images import IMAGE_EXTENSIONS, scan_images
from semspace.data.registry import DATASETS
from semspace.errors import DataError
from semspace.types import IMAGE, KEY, LABEL, PATH

logger = logging.getLogger(__name__)


@DATASETS.register("folder")
class ImageFolderDataset(BaseDataset):
    """Images under a folder, labelled by their first-level sub-folder when there is one.

    Items: ``IMAGE`` (transformed, or a ``PIL.Image`` without transform), ``PATH`` (str), ``LABEL``
    (int, -1 when unlabelled), ``KEY`` (class name or ""), ``INDEX``.

    Args:
        root: the folder.
        split: only ``"all"`` (a plain folder has no splits).
        transform: image transform (``build_transform(cfg)``).
        extensions: accepted file suffixes, case-insensitive.

    Raises:
        DataError: the folder is missing, is a file, or holds no image with an accepted suffix.

    Example:
        >>> ds = ImageFolderDataset("photos/", transform=build_transform(PreprocessCfg(size=64)))
        >>> ds.class_names, ds[0]["label"]
    """

    available_splits = ("all",)

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "all",
        transform: Callable[[Any], Any] | None = None,
        extensions: Iterable[str] = IMAGE_EXTENSIONS,
    ) -> None:
        self.extensions = tuple(extensions)
        super().__init__(root, split, transform)

    def validate_layout(self) -> None:
        """Scans the folder; fails if it is missing or empty."""
        self.require(".", "a folder of images (optionally one sub-folder per class)", kind="dir")
        self.paths: list[Path]
        self.skipped: list[tuple[str, str]]  # (path, why): found but never opened (a FIFO, a socket, a broken link)
        self.paths, self.skipped = scan_images(self.root, self.extensions)
        if not self.paths:
            raise DataError(
                f"{type(self).__name__}: no images with extensions {list(self.extensions)} under {self.root}; "
                "expected image files, optionally in one sub-folder per class"
            )
        tops = [p.relative_to(self.root).parts for p in self.paths]
        names = sorted({parts[0] for parts in tops if len(parts) > 1})
        self.classes: tuple[str, ...] = tuple(names)
        self.class_names: list[str] = list(names)  # the label space (label = position); [] when unlabelled
        self.class_to_idx: dict[str, int] = {c: i for i, c in enumerate(names)}
        self.keys: list[str] = [parts[0] if len(parts) > 1 else "" for parts in tops]
        self.labels = np.array([self.class_to_idx.get(k, -1) for k in self.keys], dtype=np.int64)  # (N,)
        n_root = int((self.labels < 0).sum())
        if names and n_root:
            logger.warning(
                "%s: %d image(s) sit directly in the root next to %d class folder(s); they get label -1",
                self.root, n_root, len(names),
            )  # fmt: skip

    def __len__(self) -> int:
        return len(self.paths)

    def item_path(self, idx: int) -> Path:
        """The file of item ``idx``, without reading it (an index sync compares its size and mtime)."""
        return self.paths[idx]

    def get_item(self, idx: int) -> dict[str, Any]:
        path = self.paths[idx]
        return {IMAGE: self.read_image(path), PATH: str(path), LABEL: int(self.labels[idx]), KEY: self.keys[idx]}
