"""The category record and the decorator the catalogue modules use to declare categories.

A category is a builder ``(Jitter) -> list[Part]`` plus a semantic group. Categories differ by *structure*
(which parts, how many, how arranged), never by colour: colour is photo variation. The full ordered table
lives in ``catalog.py``; this module only holds the record type and the collecting dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from semspace.world.objects.parts import Jitter, Part

GROUPS = ("container", "furniture", "household", "building", "vehicle", "animal", "plant", "food", "tool", "other")

Builder = Callable[[Jitter], list[Part]]


@dataclass(frozen=True)
class Category:
    """One object class: its name (an English noun), semantic group and part builder."""

    name: str
    group: str
    build: Builder
    main_part: str | None = None  # a worn part that carries the colour in captions ("a snowman in a red hat")

    @property
    def noun(self) -> str:
        """The class name as words (``"traffic light"``)."""
        return self.name.replace("_", " ")


_COLLECTED: dict[str, Category] = {}


def register_category(name: str, group: str, main_part: str | None = None) -> Callable[[Builder], Builder]:
    """Decorator declaring the builder of category ``name`` in semantic ``group``."""
    if group not in GROUPS:
        raise ValueError(f"category {name!r}: unknown group {group!r}; expected one of {GROUPS}")

    def deco(fn: Builder) -> Builder:
        if name in _COLLECTED:
            raise ValueError(f"object category {name!r} is declared twice")
        _COLLECTED[name] = Category(name, group, fn, main_part)
        return fn

    return deco


def collected() -> dict[str, Category]:
    """Every category declared so far (the catalogue modules must have been imported)."""
    return dict(_COLLECTED)
