"""Composers of composed retrieval: ``compose(img (B, D), txt (B, D)) -> (B, D)``.

``COMPOSERS`` holds "tirg", "concat", "image_only" and "text_only" (TIRG, arXiv:1812.07119, and its baselines);
each module registers its composers with ``@register_composer(name)`` and the registry finds them on its first
lookup, so the imports below are the public API only.
"""

from semspace.models.composition.base import BaseComposer as BaseComposer
from semspace.models.composition.concat import ConcatComposer as ConcatComposer
from semspace.models.composition.registry import COMPOSERS as COMPOSERS
from semspace.models.composition.registry import create_composer as create_composer
from semspace.models.composition.registry import list_composers as list_composers
from semspace.models.composition.registry import register_composer as register_composer
from semspace.models.composition.single import ImageOnlyComposer as ImageOnlyComposer
from semspace.models.composition.single import TextOnlyComposer as TextOnlyComposer
from semspace.models.composition.tirg import TirgComposer as TirgComposer

__all__ = [
    "COMPOSERS",
    "BaseComposer",
    "ConcatComposer",
    "ImageOnlyComposer",
    "TextOnlyComposer",
    "TirgComposer",
    "create_composer",
    "list_composers",
    "register_composer",
]
