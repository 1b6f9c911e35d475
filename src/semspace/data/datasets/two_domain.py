"""``two_domain``: unpaired two-domain image folders (DESIGN §4), the CycleGAN / EGSC-IT convention.

EGSC-IT (Ma et al., "Exemplar Guided Unsupervised Image-to-Image Translation with Semantic
Consistency", arXiv:1805.11145) converts its data sets to ``trainA/ trainB/ testA/ testB/`` folders
(``papers/datasets.md``); extra folders such as ``trainA_seg`` are ignored. One dataset serves one
domain of one split; a translation task builds the A and B datasets and pairs them as it needs.
All four folders are checked at once, so a user sees every missing one in a single message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from semspace.data.base import BaseDataset
from semspace.data.images import IMAGE_EXTENSIONS, list_images
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, IMAGE, KEY, PATH

logger = logging.getLogger(__name__)

DOMAINS = ("A", "B")
LAYOUT = "trainA/ trainB/ testA/ testB/ (CycleGAN / EGSC-IT convention)"


@DATASETS.register("two_domain")
class TwoDomainFolderDataset(BaseDataset):
    """The images of one domain (``"A"`` or ``"B"``) of one split of a two-domain folder.

    Items: ``IMAGE``, ``PATH`` (str), ``DOMAIN`` (``"A"``/``"B"``), ``KEY`` (the path relative to the
    domain folder without suffix: equal keys in A and B mark paired images, when a data set has
    them), ``INDEX``.

    Args:
        root: the folder holding ``trainA/ trainB/ testA/ testB/``.
        split: ``"train"`` or ``"test"``.
        domain: ``"A"`` or ``"B"``.
        transform: image transform (``build_transform(cfg)``).
        extensions: accepted image suffixes, case-insensitive.

    Raises:
        DataError: any of the four folders is missing (all missing ones are named), or the selected
            one holds no images.
        ConfigError: unknown split or domain.
    """

    available_splits = ("train", "test")

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        domain: str = "A",
        transform: Callable[[Any], Any] | None = None,
        extensions: Iterable[str] = IMAGE_EXTENSIONS,
    ) -> None:
        if domain not in DOMAINS:
            raise ConfigError(f"{type(self).__name__}: unknown domain {domain!r}; expected one of {list(DOMAINS)}")
        self.domain = domain
        self.extensions = tuple(extensions)
        super().__init__(root, split, transform)
        self.folder = self.root / f"{split}{domain}"
        self.paths: list[Path] = list_images(self.folder, self.extensions)
        if not self.paths:
            raise DataError(
                f"{type(self).__name__}: no images with extensions {list(self.extensions)} in {self.folder}; "
                f"expected the {split} images of domain {domain}"
            )
        self.keys = [str(p.relative_to(self.folder).with_suffix("").as_posix()) for p in self.paths]

    def validate_layout(self) -> None:
        """All of ``trainA/ trainB/ testA/ testB/`` must exist."""
        self.require(".", f"a folder holding {LAYOUT}", kind="dir")
        self.require_all(
            {f"{s}{d}": f"the {s} images of domain {d}" for s in self.available_splits for d in DOMAINS},
            kind="dir",
            layout=LAYOUT,
        )

    def __len__(self) -> int:
        return len(self.paths)

    def get_item(self, idx: int) -> dict[str, Any]:
        path = self.paths[idx]
        return {IMAGE: self.read_image(path), PATH: str(path), DOMAIN: self.domain, KEY: self.keys[idx]}
