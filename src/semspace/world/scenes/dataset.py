"""``world_scenes``: a torch dataset of CSS-like modification triplets from ``SceneWorld``.

Each item is one query of the composed-retrieval task of TIRG (arXiv:1812.07119) / LTT
(arXiv:1903.00793): a source image in one view, a modification text, and the target image in the same
view, plus both scene descriptions and the canonical scene keys whose equality is the retrieval ground
truth. Datasets that differ only in ``view`` hold the same scenes at the same index, which is how
paired, unmodified views (2D blobs <-> 3D renders <-> text) are built for aligning the domains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from semspace import types as T
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.utils.hashing import stable_int
from semspace.world.base import WorldDataset, check_split
from semspace.world.scenes.text import SCENE_WORDS, describe
from semspace.world.scenes.world import SceneWorld

SCENE_VIEWS: tuple[str, ...] = ("blobs2d", "render3d", "text")
IMAGE_VIEWS: tuple[str, ...] = ("blobs2d", "render3d")


@DATASETS.register("world_scenes")
class SceneTripletDataset(WorldDataset):
    """Modification triplets of the world's scenes kind, as dict items keyed by ``semspace.types``.

    Args:
        seed: world seed.
        split: ``"train"``, ``"val"`` or ``"test"`` (independent streams).
        n: number of items.
        size: image side in pixels.
        view: ``"blobs2d"``, ``"render3d"`` or ``"text"`` (text: no image keys).
        transform: optional callable PIL.Image -> tensor for both images; default: float32 (3, H, W) in [0, 1].
        min_objects: fewest objects per scene.
        max_objects: most objects per scene.
        paired_view: another image view of the same *source* scene, returned as PAIRED_IMAGE (the unmodified
            pair that aligns two domains, e.g. view="blobs2d", paired_view="render3d").
        targets: render TARGET_IMAGE too (False skips it when only the source scene is needed).
        mods_per_scene: consecutive items sharing one source scene, each with its own modification (CSS-like;
            see ``SceneWorld``). The composed-retrieval configs use 4.

    Item keys: IMAGE, TARGET_IMAGE (image views only), PAIRED_IMAGE (with ``paired_view``), MOD_TEXT, TEXT,
    TARGET_TEXT, KEY, TARGET_KEY,
    LABEL, TARGET_LABEL (int64 ``stable_int`` of the keys), SOURCE_INDEX (the source image's position in
    ``gallery()``: ``idx // mods_per_scene``), DOMAIN (= ``view``), INDEX.

    ``gallery(view)`` is the CSS-style retrieval gallery of these queries (see ``SceneGalleryDataset``).
    """

    name = "world_scenes"

    def __init__(
        self,
        *,
        seed: int = 0,
        split: str = "train",
        n: int = 1000,
        size: int = 64,
        view: str = "render3d",
        transform: Callable[[Image.Image], Any] | None = None,
        min_objects: int = 1,
        max_objects: int = 5,
        paired_view: str | None = None,
        targets: bool = True,
        mods_per_scene: int = 1,
    ) -> None:
        if view not in SCENE_VIEWS:
            raise ConfigError(f"world_scenes view must be one of {list(SCENE_VIEWS)}, got {view!r}")
        if paired_view is not None and paired_view not in SCENE_VIEWS[:2]:
            raise ConfigError(f"world_scenes paired_view must be one of {list(SCENE_VIEWS[:2])}, got {paired_view!r}")
        check_split(split, self.name)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError(f"world_scenes n must be an integer >= 0, got {n!r}")
        self.world = SceneWorld(
            seed=seed, size=size, min_objects=min_objects, max_objects=max_objects, mods_per_scene=mods_per_scene
        )
        self.split, self.n, self.view, self.transform = split, int(n), view, transform
        self.paired_view, self.targets = paired_view, targets

    def __getitem__(self, idx: int) -> dict[str, Any]:
        idx = self.check_index(idx)
        source, _, target = self.world.triplet(idx, self.split)
        images: tuple[str, ...] = () if self.view == "text" else (self.view,)
        if self.view != "text" and self.targets:
            images += (f"target_{self.view}",)
        if self.paired_view is not None and self.paired_view != self.view:
            images += (self.paired_view,)
        rendered = self.world.render_item(idx, self.split, (*images, "text", "target_text", "mod_text"))
        item: dict[str, Any] = {
            T.MOD_TEXT: rendered["mod_text"],
            T.TEXT: rendered["text"],
            T.TARGET_TEXT: rendered["target_text"],
            T.KEY: source.key(),
            T.TARGET_KEY: target.key(),
            T.LABEL: torch.tensor(stable_int(source.key()), dtype=torch.int64),
            T.TARGET_LABEL: torch.tensor(stable_int(target.key()), dtype=torch.int64),
            T.DOMAIN: self.view,
            T.INDEX: torch.tensor(idx, dtype=torch.int64),
            T.SOURCE_INDEX: torch.tensor(self.world.scene_index(idx), dtype=torch.int64),
        }
        if self.view != "text":
            item[T.IMAGE] = self._image(cast(np.ndarray, rendered[self.view]))  # (3, H, W)
            if self.targets:
                item[T.TARGET_IMAGE] = self._image(cast(np.ndarray, rendered[f"target_{self.view}"]))  # (3, H, W)
        if self.paired_view is not None:
            item[T.PAIRED_IMAGE] = self._image(cast(np.ndarray, rendered[self.paired_view]))  # (3, H, W)
        return item

    def gallery(self, view: str | None = None) -> SceneGalleryDataset:
        """The gallery these queries search: every source and every target scene, rendered in ``view``.

        Args:
            view: image view of the gallery (default: this dataset's view, or ``paired_view`` for text queries).
        """
        view = view or (self.paired_view if self.view == "text" else self.view)
        if view not in IMAGE_VIEWS:
            raise ConfigError(f"world_scenes gallery view must be one of {list(IMAGE_VIEWS)}, got {view!r}")
        return SceneGalleryDataset(self, view)

    @staticmethod
    def vocabulary() -> list[str]:
        """Every word of the descriptions and modification texts, sorted (for closed-vocabulary tokenizers)."""
        return list(SCENE_WORDS)


class SceneGalleryDataset(WorldDataset):
    """The retrieval gallery of ``n`` scene queries: the ``S = ceil(n / mods_per_scene)`` distinct source scenes
    first (item ``s`` is the very render its queries show, so their ``SOURCE_INDEX`` is ``s``), then query i's
    target scene at ``S + i``, as in TIRG's CSS test set where the gallery holds every test image
    (arXiv:1812.07119). A hit is a gallery item whose ``KEY`` equals the query's ``TARGET_KEY``; equal scenes
    drawn twice are both hits.

    Items: IMAGE, KEY, LABEL, TEXT (the scene description), DOMAIN, INDEX.
    """

    name = "world_scenes_gallery"

    def __init__(self, queries: SceneTripletDataset, view: str) -> None:
        self.queries, self.view = queries, view
        self.world, self.split, self.transform = queries.world, queries.split, queries.transform
        m = self.world.mods_per_scene
        self.n_sources = (len(queries) + m - 1) // m
        self.n = self.n_sources + len(queries)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        idx = self.check_index(idx)
        if idx < self.n_sources:
            which, q = "source", idx * self.world.mods_per_scene  # the first query of the group
            scene = self.world.scene(q, self.split)
        else:
            which, q = "target", idx - self.n_sources
            scene = self.world.triplet(q, self.split)[2]
        return {
            T.IMAGE: self._image(self.world.render(scene, self.view, q, self.split, which)),  # (3, H, W)
            T.KEY: scene.key(),
            T.LABEL: torch.tensor(stable_int(scene.key()), dtype=torch.int64),
            T.TEXT: describe(scene),
            T.DOMAIN: self.view,
            T.INDEX: torch.tensor(idx, dtype=torch.int64),
        }
