"""The category table: every object class of the world, in a fixed (alphabetical) order.

The order defines the class ids (``LABEL``) and never depends on which subset ("seen"/"unseen") is used.
Importing this module imports the catalogue modules, which declare the categories.
"""

from __future__ import annotations

from semspace.errors import ConfigError
from semspace.world.objects import (  # noqa: F401  (importing declares the categories)
    catalog_buildings,
    catalog_home,
    catalog_nature,
    catalog_things,
    catalog_transport,
)
from semspace.world.objects.categories import Category, collected
from semspace.world.objects.parts import Jitter, Part

_TABLE: dict[str, Category] = dict(sorted(collected().items()))
CATEGORIES: tuple[str, ...] = tuple(_TABLE)
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}


def get_category(name: str) -> Category:
    """The record of category ``name``; an unknown name is a ``ConfigError`` listing the choices."""
    try:
        return _TABLE[name]
    except KeyError:
        raise ConfigError(f"unknown object category {name!r}; available: {', '.join(CATEGORIES)}") from None


def build_parts(name: str, jitter: Jitter | None = None) -> list[Part]:
    """The parts of one instance of ``name`` (nominal proportions when ``jitter`` is None)."""
    return get_category(name).build(jitter or Jitter(None))


def class_id(name: str) -> int:
    """Index of ``name`` in the full ``CATEGORIES`` list (stable across class subsets)."""
    get_category(name)
    return CLASS_IDS[name]
