"""``world_pairs``: the pairs world as a torch dataset of translation triples (EGSC-IT, arXiv:1805.11145).

Item ``i`` of ``PairDataset(direction="a2b")`` is item ``i`` of :class:`PairWorld` seen as
(source in A, exemplar in B, ground-truth translation); ``direction="b2a"`` gives the reverse triple
(``source_b``, ``exemplar_a``, ``target_b2a``).

Unpaired training: the A source (``source``) and the B source (``source_b``) of one world item are
independent draws (own digit, glyph and style), so ``PairDataset(direction="a2b")[i]`` and
``PairDataset(direction="b2a")[j]`` never share content by construction, whatever ``i`` and ``j``.
A trainer can therefore draw A and B sources from two datasets over different index orders (or
even the same index) and still train unpaired; the ``TARGET`` key is for evaluation (SSIM / L1 against
the exact ground truth, and digit-classifier consistency through ``LABEL``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.types import DOMAIN, EXEMPLAR, IMAGE, INDEX, LABEL, TARGET
from semspace.world.base import WorldDataset, check_split
from semspace.world.pairs.world import PairWorld

# direction -> (source view, exemplar view, target view, source domain)
DIRECTIONS: dict[str, tuple[str, str, str, str]] = {
    "a2b": ("source", "exemplar", "target", "a"),
    "b2a": ("source_b", "exemplar_a", "target_b2a", "b"),
}


@DATASETS.register("world_pairs")
class PairDataset(WorldDataset):
    """Translation triples of the pairs world.

    Args:
        seed: world seed.
        split: ``train``, ``val`` or ``test`` (independent streams).
        n: number of items.
        size: image side in pixels.
        direction: ``a2b`` (binary-like source, styled exemplar) or ``b2a``.
        transform: optional callable applied to each image as a PIL RGB image (it should return a tensor);
            without it images are float32 ``(3, H, W)`` in ``[0, 1]``.
        correlated: EGSC-IT-like content/style correlation in the train split (see ``PairWorld``).

    Items are dicts: ``IMAGE`` (source), ``EXEMPLAR`` (exemplar of the other domain), ``TARGET``
    (ground-truth translation), ``LABEL`` (source digit, int64), ``DOMAIN`` (``"a"`` or ``"b"``, the
    source's domain) and ``INDEX``.

    Example:
        >>> ds = PairDataset(split="test", n=100, direction="a2b")
        >>> ds[0]["target"].shape
        torch.Size([3, 64, 64])
    """

    name = "world_pairs"

    def __init__(
        self,
        *,
        seed: int = 0,
        split: str = "train",
        n: int = 1000,
        size: int = 64,
        direction: str = "a2b",
        transform: Callable[[Image.Image], Any] | None = None,
        correlated: bool = False,
    ) -> None:
        check_split(split, self.name)
        if direction not in DIRECTIONS:
            raise ConfigError(f"world_pairs: direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        if n <= 0:
            raise ConfigError(f"world_pairs: n must be a positive number of items, got {n}")
        self.world = PairWorld(seed=seed, size=size, correlated=correlated)
        self.split, self.n, self.direction, self.transform = split, int(n), direction, transform
        self.views = DIRECTIONS[direction][:3]

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self.check_index(index)
        src, ex, tgt, domain = DIRECTIONS[self.direction]
        samples = self.world.samples(index, self.split)
        views = self.world.render_samples(samples, self.views)
        return {
            IMAGE: self._image(views[src]),
            EXEMPLAR: self._image(views[ex]),
            TARGET: self._image(views[tgt]),
            LABEL: torch.tensor(samples[src].glyph.digit, dtype=torch.int64),
            DOMAIN: domain,
            INDEX: torch.tensor(index, dtype=torch.int64),
        }

    def annotation(self, index: int) -> dict[str, Any]:
        """The world's ground truth of item ``index`` (glyph and style params of every view)."""
        return self.world.annotation(index, self.split)
