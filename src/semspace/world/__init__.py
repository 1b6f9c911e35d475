"""The world: semspace's embedded default data (DESIGN §3).

Three kinds of seeded procedural generators, each showing the same content in several domains with known
ground truth: ``scenes`` (CSS/CLEVR-like scenes with modification triplets; views blobs2d, render3d, text),
``objects`` (>= 40 part-based categories; views photo, sketch, text; seen/unseen splits) and ``pairs``
(two domains with an exemplar-carried style and the ground-truth translation). ``create_world(kind)``
builds one; ``world.export`` writes PNG + JSONL; ``world.preview`` draws contact sheets.
"""

from __future__ import annotations

import importlib
from typing import Any

from semspace.world.base import WorldKind as WorldKind

_KINDS = {
    "scenes": ("semspace.world.scenes.world", "SceneWorld"),
    "objects": ("semspace.world.objects.world", "ObjectWorld"),
    "pairs": ("semspace.world.pairs.world", "PairWorld"),
}
KINDS: tuple[str, ...] = tuple(_KINDS)


def create_world(kind: str, /, **kwargs: Any) -> WorldKind:
    """Builds a world kind by name (``scenes``, ``objects``, ``pairs``) with ``seed``, ``size``, ...

    Example:
        >>> w = create_world("scenes", seed=0, size=64)
        >>> views = w.render_item(0, "train")  # {"blobs2d": array, "render3d": array, "mod_text": str, ...}
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown world kind {kind!r}; expected one of {list(_KINDS)}")
    module, cls = _KINDS[kind]
    return getattr(importlib.import_module(module), cls)(**kwargs)


__all__ = ["KINDS", "WorldKind", "create_world"]
