"""Scene modifications: add / remove / change one attribute, as text plus the exact target scene.

These are the three modification types of TIRG's CSS dataset (Vo et al., arXiv:1812.07119, §4.1), the
source-domain "transformations" that LTT (arXiv:1903.00793) learns on 2D blobs and transfers to 3D
renders. The wording is ours and deliberately regular (few templates, a vocabulary of about 30 words):

* add:    ``"add a small green sphere at the top left"``
* remove: ``"remove the large red cube"``
* change: ``"make the large red cube blue"``, ``"make the small yellow sphere a cylinder"``,
  ``"make the small blue cylinder large"``

An object is always named by size, colour and shape; when another object in the scene shares all
three, its position is added (``"remove the large red cube at the top"``), so every text names exactly
one object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from semspace.errors import DataError
from semspace.world.scenes.spec import COLORS, MAX_OBJECTS, SHAPES, SIZES, ObjectSpec, SceneSpec, sample_object

MOD_TYPES: tuple[str, ...] = ("add", "remove", "change")
ATTRIBUTES: dict[str, tuple[str, ...]] = {"color": COLORS, "shape": SHAPES, "size": SIZES}
MOD_WORDS: tuple[str, ...] = ("add", "remove", "make", "a", "the", "at")


@dataclass(frozen=True)
class Modification:
    """One modification of a scene.

    Args:
        kind: ``"add"``, ``"remove"`` or ``"change"``.
        text: the instruction in words.
        obj: the object added, removed, or changed (as it is in the source scene; for add, the new object).
        attribute: for change, which attribute (``"color"``, ``"shape"`` or ``"size"``); else None.
        value: for change, the new value of ``attribute``; else None.
    """

    kind: str
    text: str
    obj: ObjectSpec
    attribute: str | None = None
    value: str | None = None

    def apply(self, scene: SceneSpec) -> SceneSpec:
        """The target scene: ``scene`` with exactly this change."""
        if self.kind == "add":
            return scene.add(self.obj)
        if scene.at(self.obj.cell) != self.obj:
            raise DataError(f"modification {self.text!r} refers to {self.obj.key()!r}, not in {scene.key()!r}")
        if self.kind == "remove":
            return scene.remove(self.obj.cell)
        assert self.attribute is not None and self.value is not None
        return scene.change(self.obj.cell, **{self.attribute: self.value})

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return {
            "type": self.kind,
            "text": self.text,
            "object": self.obj.to_json(),
            "attribute": self.attribute,
            "value": self.value,
        }


def refer(scene: SceneSpec, obj: ObjectSpec) -> str:
    """A phrase naming ``obj`` uniquely in ``scene``: ``"the large red cube"`` (+ ``" at the top"`` if needed)."""
    same = sum(o.noun_phrase == obj.noun_phrase for o in scene.objects)
    return f"the {obj.noun_phrase}" + (f" at the {obj.position}" if same > 1 else "")


def add_text(obj: ObjectSpec) -> str:
    """``"add a small green sphere at the top left"``."""
    return f"add a {obj.noun_phrase} at the {obj.position}"


def remove_text(scene: SceneSpec, obj: ObjectSpec) -> str:
    """``"remove the large red cube"`` (position added when ambiguous)."""
    return f"remove {refer(scene, obj)}"


def change_text(scene: SceneSpec, obj: ObjectSpec, attribute: str, value: str) -> str:
    """``"make the large red cube blue"``, ``"... a cylinder"``, ``"... large"``."""
    return f"make {refer(scene, obj)} " + (f"a {value}" if attribute == "shape" else value)


def allowed_kinds(scene: SceneSpec, min_objects: int = 1, max_objects: int = 5) -> tuple[str, ...]:
    """Modification types that keep the object count within [min_objects, max_objects]."""
    kinds = []
    if len(scene) < min(max_objects, MAX_OBJECTS):
        kinds.append("add")
    if len(scene) > min_objects:
        kinds.append("remove")
    if len(scene) > 0:
        kinds.append("change")
    return tuple(kinds)


def sample_modification(
    scene: SceneSpec, rng: np.random.Generator, min_objects: int = 1, max_objects: int = 5
) -> tuple[Modification, SceneSpec]:
    """Draws a modification of ``scene`` and returns it with the exact target scene.

    The type is uniform among those that keep the count in bounds; add picks a free cell and a random
    object; remove and change pick an existing object; change picks an attribute and a *different*
    value uniformly.

    Args:
        scene: the source scene.
        rng: the generator (pure in the item, see ``SceneWorld``).
        min_objects: the target keeps at least this many objects.
        max_objects: the target keeps at most this many objects.
    """
    kinds = allowed_kinds(scene, min_objects, max_objects)
    if not kinds:
        raise DataError(f"scene {scene.key()!r} admits no modification within [{min_objects}, {max_objects}] objects")
    kind = kinds[rng.integers(len(kinds))]
    if kind == "add":
        free = scene.free_cells
        obj = sample_object(rng, free[rng.integers(len(free))])
        mod = Modification("add", add_text(obj), obj)
    else:
        obj = scene.objects[rng.integers(len(scene))]
        if kind == "remove":
            mod = Modification("remove", remove_text(scene, obj), obj)
        else:
            attribute = tuple(ATTRIBUTES)[rng.integers(len(ATTRIBUTES))]
            others = [v for v in ATTRIBUTES[attribute] if v != getattr(obj, attribute)]
            value = others[rng.integers(len(others))]
            mod = Modification("change", change_text(scene, obj, attribute, value), obj, attribute, value)
    return mod, mod.apply(scene)
