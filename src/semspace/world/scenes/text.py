"""The text view of a scene: a regular description in canonical (cell) order, and the scene vocabulary.

``describe`` gives e.g. ``"a large red cube at the top left, a small blue sphere at the center"``. The
words of descriptions and modification texts together form ``SCENE_WORDS`` (under 40 words), from which
text encoders can build a closed vocabulary (TIRG's text model builds its vocabulary from the corpus).
"""

from __future__ import annotations

from semspace.world.scenes.modify import MOD_WORDS
from semspace.world.scenes.spec import CELLS, COLORS, SHAPES, SIZES, SceneSpec

EMPTY_SCENE = "an empty scene"


def describe(scene: SceneSpec) -> str:
    """A description of ``scene``: its objects in cell order, ``"a {size} {color} {shape} at the {cell}"``.

    Args:
        scene: the scene to describe.

    Returns:
        One lower-case line; ``"an empty scene"`` for a scene without objects.
    """
    if not scene.objects:
        return EMPTY_SCENE
    return ", ".join(f"a {o.noun_phrase} at the {o.position}" for o in scene.objects)


def _words() -> tuple[str, ...]:
    words = set(MOD_WORDS) | set(SIZES) | set(COLORS) | set(SHAPES) | set(EMPTY_SCENE.split())
    for cell in CELLS:
        words.update(cell.split())
    return tuple(sorted(words))


SCENE_WORDS: tuple[str, ...] = _words()  # every word describe() and the modification texts can use


def tokenize(text: str) -> list[str]:
    """Lower-cased words of a description or modification text, punctuation stripped (TIRG's text model)."""
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()
