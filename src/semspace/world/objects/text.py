"""The text view: a caption of an item's photo, naming its class, colour, texture, some parts and the background.

Image-text retrieval (CHTN, ``papers/chtn.md``) pairs each photo with its caption; captions come from a few
templates so that the wording varies while the content (class, colour, texture, parts) stays ground truth.
"""

from __future__ import annotations

import numpy as np

from semspace.world.objects.attributes import article, part_phrases, with_article
from semspace.world.objects.catalog import get_category
from semspace.world.objects.spec import PhotoSpec

TEXTURE_WORDS = {"plain": "", "striped": "striped", "dotted": "polka-dot", "speckled": "speckled",
                 "checkered": "checkered"}  # fmt: skip
TEMPLATES = (
    "a photo of {obj} with {parts}",
    "{obj} with {parts}, on {bg}",
    "a picture of {obj} on {bg}",
    "{obj} that has {parts}",
    "a close-up photo of {obj} in front of {bg}",
)


def background_phrase(spec: PhotoSpec) -> str:
    """``"a plain navy background"``, ``"a cream wall"``, ...: words for the photo's background."""
    words = {
        "plain": f"plain {spec.bg_color} background",
        "gradient": f"{spec.bg_color} gradient background",
        "floor": f"{spec.bg_color} wall",
        "noise": f"mottled {spec.bg_color} background",
        "stripes": f"striped {spec.bg_color} background",
    }[spec.background]
    return f"{article(words)} {words}"


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def caption(spec: PhotoSpec, rng: np.random.Generator) -> str:
    """A caption of the photo described by ``spec``; ``rng`` picks the template and the parts mentioned."""
    cat = get_category(spec.category)
    adjectives = " ".join(w for w in (spec.color, TEXTURE_WORDS[spec.texture]) if w)
    phrases = [p for p in part_phrases(spec.category) if cat.main_part is None or not p.endswith(cat.main_part)]
    template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    if cat.main_part is None:
        obj = with_article(cat.noun, adjectives)
    else:  # the coloured part is worn and carries the adjectives: "a snowman in a red striped hat"
        obj = f"{with_article(cat.noun)} in {with_article(cat.main_part, adjectives)}"
    if phrases:
        k = int(rng.integers(1, min(2, len(phrases)) + 1))
        chosen = [phrases[i] for i in sorted(rng.choice(len(phrases), size=k, replace=False))]
    elif "{parts}" in template:
        template = TEMPLATES[2]
    return template.format(obj=obj, parts=_join(chosen) if phrases else "", bg=background_phrase(spec))
