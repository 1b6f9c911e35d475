"""The world: semspace's embedded default data (DESIGN §3).

Three kinds of seeded procedural generators, each showing the same content in several domains with known
ground truth: ``scenes`` (CSS/CLEVR-like scenes with modification triplets; views blobs2d, render3d, text),
``objects`` (>= 40 part-based categories; views photo, sketch, text; seen/unseen splits) and ``pairs``
(two domains with an exemplar-carried style and the ground-truth translation). Each kind registers itself in
``WORLD_KINDS`` (``world/registry.py``); ``create_world(kind)`` builds one and ``list_world_kinds()`` (or
``KINDS``) names them; ``world.export`` writes PNG + JSONL; ``world.preview`` draws contact sheets. The kinds'
torch datasets (``world_scenes``, ``world_objects``, ``world_pairs``) are in the data layer's ``DATASETS``.
"""

from __future__ import annotations

from typing import Any

from semspace.errors import ConfigError
from semspace.world.base import WorldKind as WorldKind
from semspace.world.registry import WORLD_KINDS as WORLD_KINDS


def list_world_kinds(pattern: str = "*") -> list[str]:
    """Names of the registered world kinds matching the shell-style ``pattern`` (sorted)."""
    return WORLD_KINDS.list(pattern)


def create_world(kind: str, /, **kwargs: Any) -> WorldKind:
    """Builds a world kind by name (``scenes``, ``objects``, ``pairs``) with ``seed``, ``size``, ...

    Raises:
        ConfigError: unknown ``kind`` (the message lists the registered kinds), or an argument the kind does not
            accept (the message lists those it does).

    Example:
        >>> w = create_world("scenes", seed=0, size=64)
        >>> views = w.render_item(0, "train")  # {"blobs2d": array, "render3d": array, "mod_text": str, ...}
    """
    try:
        WORLD_KINDS.get(kind)
    except KeyError as e:
        raise ConfigError(str(e.args[0])) from None
    world: WorldKind = WORLD_KINDS.create(kind, **kwargs)
    return world


def __getattr__(name: str) -> Any:
    """``KINDS``: the registered kind names as a tuple, read from ``WORLD_KINDS`` when first asked for."""
    if name == "KINDS":
        return tuple(list_world_kinds())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KINDS", "WORLD_KINDS", "WorldKind", "create_world", "list_world_kinds"]
