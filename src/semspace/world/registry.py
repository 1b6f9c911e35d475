"""The world-kind registry: each kind's ``world.py`` registers its class with ``@WORLD_KINDS.register(name)``.

Like every registry, it finds its entries itself: the first lookup or listing imports every module of the world
package (``Registry(discover=...)``), so adding a kind is adding a folder; no table of kinds is kept.
"""

from __future__ import annotations

from semspace.registry import Registry

WORLD_KINDS: Registry = Registry("world kind", discover=("semspace.world",))
