"""The fixed seen/unseen class split of the objects world (zero-shot sketch retrieval, ``papers/ssgn.md``).

Like the standard Sketchy / TU-Berlin zero-shot splits (``papers/datasets.md``), the split is a fixed list,
chosen by hand rather than by a seed so that it never moves: 17 of the 68 classes (25%) are unseen. The
choice follows two rules, both checked by the tests:

* every unseen class shares at least two parts with one seen class (``attributes.shared_parts``; a body counts
  only with the same shape kind), so its attribute vector is made of attributes learnt on seen classes:
  mug ~ wagon (boxy body, handle), cup ~ bucket (tapered body, handle), truck ~ car (cabin, windows, wheels),
  helicopter ~ airplane (oval body, tail, windows), pear ~ apple (stem, leaf), fan ~ lamp (pole, base), ...;
* the unseen classes span the semantic groups (containers, furniture, household, buildings, vehicles,
  animals, food, tools, other), so no group is wholly unseen.
"""

from __future__ import annotations

from collections.abc import Sequence

from semspace.errors import ConfigError
from semspace.world.objects.catalog import CATEGORIES, get_category

UNSEEN_CLASSES: tuple[str, ...] = (
    "boat", "bus", "candle", "cat", "cup", "fan", "guitar", "helicopter", "lollipop", "mug", "pear", "snowman",
    "stool", "sword", "truck", "turtle", "windmill",
)  # fmt: skip
SEEN_CLASSES: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in UNSEEN_CLASSES)
CLASS_SUBSETS = ("all", "seen", "unseen")


def class_split(name: str) -> str:
    """``"seen"`` or ``"unseen"`` for category ``name`` (an unknown name is a ``ConfigError``)."""
    get_category(name)
    return "unseen" if name in UNSEEN_CLASSES else "seen"


def resolve_classes(classes: str | Sequence[str]) -> tuple[str, ...]:
    """The ordered class names of a subset: ``"all"``, ``"seen"``, ``"unseen"`` or an explicit list of names.

    Explicit lists keep the order of ``CATEGORIES`` and must be non-empty and free of unknown names.
    """
    if isinstance(classes, str):
        if classes == "all":
            return CATEGORIES
        if classes == "seen":
            return SEEN_CLASSES
        if classes == "unseen":
            return UNSEEN_CLASSES
        raise ConfigError(f"classes must be one of {CLASS_SUBSETS} or a list of category names, got {classes!r}")
    names = list(classes)
    for n in names:
        get_category(n)
    if not names:
        raise ConfigError("classes: the list of category names is empty")
    return tuple(c for c in CATEGORIES if c in set(names))
