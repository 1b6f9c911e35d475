"""``SceneWorld``: the world's *scenes* kind (DESIGN §3), CSS-like modification triplets in three views.

Item ``idx`` of ``split`` is a triplet (source scene, modification, target scene) like one query of
TIRG's CSS dataset (arXiv:1812.07119), which LTT (arXiv:1903.00793) uses to transfer transformations
learned on 2D blobs to 3D renders. Each scene is seen as ``blobs2d`` (``render2d.py``), ``render3d``
(``render3d.py``) and ``text`` (``text.py``). Everything is a pure function of ``(seed, split, idx)``:
each part draws from its own stream ``rng_for(seed, split_key, idx, stream, ...)`` (never global RNG),
so the scenes do not change when, say, a renderer's jitter changes, and every view and split is
independent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from semspace.errors import ConfigError
from semspace.utils.hashing import stable_int
from semspace.utils.seed import rng_for
from semspace.world.base import check_split
from semspace.world.registry import WORLD_KINDS
from semspace.world.scenes.modify import Modification, sample_modification
from semspace.world.scenes.render2d import render_blobs2d
from semspace.world.scenes.render3d import render_render3d
from semspace.world.scenes.spec import MAX_OBJECTS, SceneSpec, sample_scene
from semspace.world.scenes.text import describe

STREAM_SCENE, STREAM_MOD, STREAM_RENDER = 0, 1, 2  # independent random streams of one item
IMAGE_RENDERERS: dict[str, Callable[..., Any]] = {"blobs2d": render_blobs2d, "render3d": render_render3d}
RENDER_KEYS = {"blobs2d": 0, "render3d": 1}
WHICH_KEYS = {"source": 0, "target": 1}


@WORLD_KINDS.register("scenes")
class SceneWorld:
    """CSS/CLEVR-like scenes with add/remove/change modifications, as 2D blobs, 3D renders and text.

    Args:
        seed: the world seed; with ``split`` and ``idx`` it fixes every item.
        size: side in pixels of the image views.
        min_objects: fewest objects in a source or target scene.
        max_objects: most objects in a source or target scene (at most 9, one per grid cell).
        mods_per_scene: consecutive items sharing one source scene (and its source renders), each with its own
            modification, as in CSS where one image is the source of several modifications; then the
            query's own neighbours include the targets of its sibling modifications, so the image alone cannot
            find the target (TIRG's image-only baseline scores ~6% R@1 on CSS).

    Example:
        >>> world = SceneWorld(seed=0)
        >>> item = world.render_item(3, "train", ("blobs2d", "mod_text"))
        >>> item["blobs2d"].shape, isinstance(item["mod_text"], str)
        ((64, 64, 3), True)
    """

    name = "scenes"
    image_views: tuple[str, ...] = ("blobs2d", "render3d", "target_blobs2d", "target_render3d")
    text_views: tuple[str, ...] = ("text", "target_text", "mod_text")
    views: tuple[str, ...] = image_views + text_views

    def __init__(
        self, seed: int = 0, size: int = 64, min_objects: int = 1, max_objects: int = 5, mods_per_scene: int = 1
    ) -> None:
        if not 1 <= min_objects <= max_objects <= MAX_OBJECTS:
            raise ConfigError(
                f"scenes need 1 <= min_objects <= max_objects <= {MAX_OBJECTS} (one object per grid cell), "
                f"got min_objects={min_objects}, max_objects={max_objects}"
            )
        if size < 8:
            raise ConfigError(f"scenes size must be at least 8 pixels, got {size}")
        if mods_per_scene < 1:
            raise ConfigError(f"scenes mods_per_scene must be >= 1, got {mods_per_scene}")
        self.seed, self.size, self.mods_per_scene = int(seed), int(size), int(mods_per_scene)
        self.min_objects, self.max_objects = int(min_objects), int(max_objects)

    def __repr__(self) -> str:
        return (
            f"SceneWorld(seed={self.seed}, size={self.size}, min_objects={self.min_objects}, "
            f"max_objects={self.max_objects}, mods_per_scene={self.mods_per_scene})"
        )

    def scene(self, idx: int, split: str = "train") -> SceneSpec:
        """The source scene of item ``idx`` (shared by the ``mods_per_scene`` items of its group)."""
        rng = rng_for(self.seed, check_split(split, f"{self.name} world"), self.scene_index(idx), STREAM_SCENE)
        return sample_scene(rng, self.min_objects, self.max_objects)

    def scene_index(self, idx: int) -> int:
        """Which source scene item ``idx`` modifies: ``idx // mods_per_scene``."""
        return int(idx) // self.mods_per_scene

    def triplet(self, idx: int, split: str = "train") -> tuple[SceneSpec, Modification, SceneSpec]:
        """(source scene, modification, exact target scene) of item ``idx``."""
        source = self.scene(idx, split)
        rng = rng_for(self.seed, check_split(split, f"{self.name} world"), int(idx), STREAM_MOD)
        mod, target = sample_modification(source, rng, self.min_objects, self.max_objects)
        return source, mod, target

    def render(self, scene: SceneSpec, view: str, idx: int, split: str = "train", which: str = "source") -> np.ndarray:
        """Renders ``scene`` in image ``view`` with the jitter of item ``idx`` (source or target side).

        Args:
            scene: the scene to draw (normally ``triplet(idx, split)[0]`` or ``[2]``).
            view: ``"blobs2d"`` or ``"render3d"``.
            idx: the item whose jitter stream to use.
            split: the item's split.
            which: ``"source"`` or ``"target"``: the two sides get independent jitter.

        Returns:
            ``(size, size, 3)`` uint8 RGB.
        """
        if view not in IMAGE_RENDERERS:
            raise ConfigError(f"unknown scenes image view {view!r}; expected one of {list(IMAGE_RENDERERS)}")
        if which not in WHICH_KEYS:
            raise ConfigError(f"which must be one of {list(WHICH_KEYS)}, got {which!r}")
        key = self.scene_index(idx) if which == "source" else int(idx)  # a group's source renders are identical
        split_key = check_split(split, f"{self.name} world")
        rng = rng_for(self.seed, split_key, key, STREAM_RENDER, RENDER_KEYS[view], WHICH_KEYS[which])
        img: np.ndarray = IMAGE_RENDERERS[view](scene, size=self.size, rng=rng)
        return img

    def annotation(self, idx: int, split: str = "train") -> dict[str, Any]:
        """JSON-serialisable ground truth of item ``idx``: both scenes, keys, labels, texts, the modification."""
        source, mod, target = self.triplet(idx, split)
        return {
            "kind": self.name,
            "seed": self.seed,
            "split": split,
            "index": int(idx),
            "source_objects": source.to_json(),
            "source_key": source.key(),
            "source_label": stable_int(source.key()),
            "source_text": describe(source),
            "target_objects": target.to_json(),
            "target_key": target.key(),
            "target_label": stable_int(target.key()),
            "target_text": describe(target),
            "mod_type": mod.kind,
            "mod_text": mod.text,
            "modification": mod.to_json(),
        }

    def render_item(
        self, idx: int, split: str = "train", views: tuple[str, ...] | None = None
    ) -> dict[str, np.ndarray | str]:
        """The requested ``views`` of item ``idx`` (default: all of ``self.views``).

        Image views are ``(size, size, 3)`` uint8 arrays; ``text``, ``target_text`` and ``mod_text`` are str.
        """
        views = self.views if views is None else tuple(views)
        unknown = [v for v in views if v not in self.views]
        if unknown:
            raise ConfigError(f"unknown scenes view(s) {unknown}; expected some of {list(self.views)}")
        source, mod, target = self.triplet(idx, split)
        out: dict[str, np.ndarray | str] = {}
        for v in views:
            if v in self.image_views:
                which = "target" if v.startswith("target_") else "source"
                scene = target if which == "target" else source
                out[v] = self.render(scene, v.removeprefix("target_"), idx, split, which)
            elif v == "mod_text":
                out[v] = mod.text
            else:
                out[v] = describe(target if v == "target_text" else source)
        return out
