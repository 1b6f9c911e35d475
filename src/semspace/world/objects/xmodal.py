"""The world's cross-modal transfer benchmark (CHTN, ``papers/chtn.md``): few photo-caption pairs, a big labelled
single-modal photo source of other categories and another style.

* ``xmodal_pairs`` (the target): photos of the objects world with their captions, ``pairs_per_class`` pairs per
  class of ``TARGET_CLASSES`` for training (few: 8 by default) and more for testing. The ten target classes come
  in look-alike couples (chair/stool, mug/cup, car/truck, apple/pear, house/tent) whose photos differ in part
  shapes and proportions, not in colour, texture or background (those vary at random within every class).
* ``xmodal_source`` (the source, like CHTN's ImageNet): labelled photos of the *other* 58 categories,
  ``n_per_class`` each, in another photographic style (``catalogue``: colours washed towards grey and higher
  contrast, ``stylize``).

What the source teaches that the few pairs cannot: a small pair collection is a *biased sample*. With
``settings_per_class: k`` the training pairs of each class are shot in only ``k`` settings (a background kind and
tone, a main colour and a texture drawn per class from the seed; the captions describe the photo as shot), while
the test pairs vary all of them at random. From 8 pairs per class, nuisance and class coincide, so a classifier
learns the settings as much as the shapes (on frozen ImageNet features too). The source's 58 classes share the
world's parts (wheels, handles, legs, roofs, stems, windows) and its thousands of photos vary colour, texture,
background, pose and lighting independently of the class: classifying them teaches the shared image layers which
directions of the representation carry object structure and which are nuisance. The style shift makes the source
images' representation differ from the target's, which is what CHTN's MMD terms align. Items are pure functions of
``(seed, split, idx)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError
from semspace.types import DOMAIN, IMAGE, INDEX, KEY, LABEL, TEXT
from semspace.utils.seed import rng_for
from semspace.world.base import WorldDataset, check_split
from semspace.world.objects.catalog import CATEGORIES
from semspace.world.objects.photo import render_photo
from semspace.world.objects.spec import BACKGROUND_TONES, BACKGROUNDS, OBJECT_COLORS, TEXTURES, PhotoSpec
from semspace.world.objects.text import caption
from semspace.world.objects.world import ObjectWorld

TARGET_CLASSES: tuple[str, ...] = ("apple", "car", "chair", "cup", "house", "mug", "pear", "stool", "tent", "truck")
SOURCE_CLASSES: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in TARGET_CLASSES)
STYLES = ("plain", "catalogue")
SOURCE_SEED_OFFSET = 7919  # the source world draws its own instances
SETTINGS_STREAM = 104729  # rng stream of the per-class shooting settings
_TEXT_STREAM = 3  # ObjectWorld's caption stream


def class_settings(seed: int, n_classes: int, k: int) -> list[list[dict[str, Any]]]:
    """``k`` shooting settings per class (background kind and tone, main colour, texture), a pure function of
    ``seed``; the tone is one that stands out from the colour."""
    rng = rng_for(seed, SETTINGS_STREAM)
    colours, out = list(OBJECT_COLORS), []
    for _ in range(n_classes):
        row = []
        for _ in range(k):
            colour = colours[int(rng.integers(len(colours)))]
            c = np.asarray(OBJECT_COLORS[colour], np.float64)
            tones = [t for t in BACKGROUND_TONES if np.linalg.norm(np.subtract(BACKGROUND_TONES[t], c)) / 255 > 0.5]
            row.append({"background": BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
                        "bg_color": tones[int(rng.integers(len(tones)))], "color": colour,
                        "texture": TEXTURES[int(rng.integers(len(TEXTURES)))]})  # fmt: skip
        out.append(row)
    return out


def apply_setting(spec: PhotoSpec, setting: dict[str, Any]) -> PhotoSpec:
    """``spec`` shot in ``setting`` (its pose, proportions, lighting and second colour are kept)."""
    return dataclasses.replace(
        spec, background=setting["background"], bg_color=setting["bg_color"],
        bg_rgb=BACKGROUND_TONES[setting["bg_color"]], color=setting["color"],
        color_rgb=OBJECT_COLORS[setting["color"]], texture=setting["texture"],
    )  # fmt: skip


def stylize(img: np.ndarray, style: str) -> np.ndarray:
    """A photo ``(H, W, 3)`` uint8 in another style: ``plain`` (unchanged) or ``catalogue`` (60% towards grey,
    contrast x1.3 around mid-grey)."""
    if style == "plain":
        return img
    if style != "catalogue":
        raise ConfigError(f"xmodal_source: style must be one of {STYLES}, got {style!r}")
    x = img.astype(np.float32) / 255.0  # (H, W, 3)
    grey = x.mean(axis=2, keepdims=True)  # (H, W, 1)
    x = 0.4 * x + 0.6 * grey
    x = (x - 0.5) * 1.3 + 0.5
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def _classes(classes: str | Sequence[str], default: tuple[str, ...], who: str) -> tuple[str, ...]:
    if isinstance(classes, str):
        if classes in ("target", "source"):
            return TARGET_CLASSES if classes == "target" else SOURCE_CLASSES
        raise ConfigError(f"{who}: classes must be 'target', 'source' or a list of category names, got {classes!r}")
    names = tuple(classes) or default
    unknown = [c for c in names if c not in CATEGORIES]
    if unknown:
        raise ConfigError(f"{who}: unknown categories {unknown}")
    return names


class _XmodalBase(WorldDataset):
    categories: tuple[str, ...]
    world: ObjectWorld

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; ``LABEL`` is the index in this tuple."""
        return self.categories

    @property
    def num_classes(self) -> int:
        return len(self.categories)

    @property
    def labels(self) -> np.ndarray:
        """``(N,)`` int64 class ids of all items (item ``i`` is class ``i % C``)."""
        return np.arange(self.n, dtype=np.int64) % self.num_classes


@DATASETS.register("xmodal_pairs")
class XmodalPairsDataset(_XmodalBase):
    """Photo-caption pairs of the target classes (module docstring).

    Args:
        seed: world seed.
        split: "train", "val" or "test".
        pairs_per_class: pairs of each class (train default 8: few pairs; use more for test).
        classes: "target" (``TARGET_CLASSES``) or a list of category names.
        size: photo side in pixels.
        transform: PIL -> tensor (default float32 ``(3, H, W)`` in [0, 1]).
        settings_per_class: 0: every photo's colour, texture and background are random; k > 0: each class's
            photos are shot in one of k settings drawn per class (``class_settings``): the biased few pairs.

    Items: ``IMAGE`` (the photo), ``TEXT`` (its caption), ``LABEL`` (class index), ``KEY`` (class name),
    ``DOMAIN`` ``"photo"``, ``INDEX``.
    """

    name = "xmodal_pairs"

    def __init__(
        self,
        *,
        seed: int = 0,
        split: str = "train",
        pairs_per_class: int = 8,
        classes: str | Sequence[str] = "target",
        size: int = 64,
        transform: Callable[[Image.Image], Any] | None = None,
        settings_per_class: int = 0,
    ) -> None:
        self._key = check_split(split, self.name)
        if pairs_per_class < 1:
            raise ConfigError(f"{self.name}: pairs_per_class must be >= 1, got {pairs_per_class}")
        if settings_per_class < 0:
            raise ConfigError(f"{self.name}: settings_per_class must be >= 0, got {settings_per_class}")
        self.categories = _classes(classes, TARGET_CLASSES, self.name)
        self.world = ObjectWorld(seed=seed, size=size, classes=list(self.categories))
        self.categories = tuple(self.world.categories)
        self.split, self.n, self.transform = split, int(pairs_per_class) * len(self.categories), transform
        self.seed, self.size, self.settings_per_class = int(seed), int(size), int(settings_per_class)
        self._settings = class_settings(self.seed, len(self.categories), self.settings_per_class)

    def photo_spec(self, i: int) -> PhotoSpec:
        """The spec of item ``i``'s photo (in its class's setting when ``settings_per_class`` > 0)."""
        spec = self.world.photo_spec(i, self.split)
        if not self.settings_per_class:
            return spec
        c = len(self.categories)
        return apply_setting(spec, self._settings[i % c][(i // c) % self.settings_per_class])

    def caption(self, i: int) -> str:
        """Item ``i``'s caption: a description of its photo."""
        return caption(self.photo_spec(i), rng_for(self.world.seed, self._key, i, _TEXT_STREAM))

    @property
    def texts(self) -> list[str]:
        """Every item's caption, in item order (the bag-of-words vocabulary is built from them)."""
        return [self.caption(i) for i in range(self.n)]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self.check_index(idx)
        photo = render_photo(self.photo_spec(i), self.size)
        name = self.world.category(i, self.split)
        return {
            IMAGE: self._image(photo),
            TEXT: self.caption(i),
            LABEL: torch.tensor(self.categories.index(name), dtype=torch.int64),
            KEY: name,
            DOMAIN: "photo",
            INDEX: torch.tensor(i, dtype=torch.int64),
        }


@DATASETS.register("xmodal_source")
class XmodalSourceDataset(_XmodalBase):
    """Labelled single-modal photos of the source classes, in another style (module docstring).

    Args:
        seed: world seed (the source draws its own instances: ``seed + SOURCE_SEED_OFFSET``).
        split: "train", "val" or "test".
        n_per_class: photos of each class.
        classes: "source" (``SOURCE_CLASSES``) or a list of category names.
        style: "catalogue" (default) or "plain" (the target's style).
        size: photo side in pixels.
        transform: PIL -> tensor.

    Items: ``IMAGE``, ``LABEL`` (index in ``classes``), ``KEY``, ``DOMAIN`` ``"photo"``, ``INDEX``.
    """

    name = "xmodal_source"

    def __init__(
        self,
        *,
        seed: int = 0,
        split: str = "train",
        n_per_class: int = 60,
        classes: str | Sequence[str] = "source",
        style: str = "catalogue",
        size: int = 64,
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        check_split(split, self.name)
        if n_per_class < 1:
            raise ConfigError(f"{self.name}: n_per_class must be >= 1, got {n_per_class}")
        stylize(np.zeros((1, 1, 3), np.uint8), style)  # validates the style
        self.categories = _classes(classes, SOURCE_CLASSES, self.name)
        self.world = ObjectWorld(seed=seed + SOURCE_SEED_OFFSET, size=size, classes=list(self.categories))
        self.categories = tuple(self.world.categories)
        self.split, self.style, self.transform = split, style, transform
        self.n = int(n_per_class) * len(self.categories)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        i = self.check_index(idx)
        photo = self.world.render_item(i, self.split, ("photo",))["photo"]
        assert isinstance(photo, np.ndarray)
        name = self.world.category(i, self.split)
        return {
            IMAGE: self._image(stylize(photo, self.style)),
            LABEL: torch.tensor(self.categories.index(name), dtype=torch.int64),
            KEY: name,
            DOMAIN: "photo",
            INDEX: torch.tensor(i, dtype=torch.int64),
        }
