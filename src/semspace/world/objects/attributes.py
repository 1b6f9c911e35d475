"""Class semantics of the object categories: a fixed attribute vector and a part description per class.

Zero-shot sketch retrieval (SSGN, ``papers/ssgn.md``) conditions a decoder on "auxiliary semantic information"
per class: word vectors in the paper, attribute vectors here. The vector is derived from the category's
nominal structure, so unseen classes that share parts with seen ones (a mug's handle, a truck's wheels) share
attributes. Layout (``ATTRIBUTE_NAMES``, ``A = len(ATTRIBUTE_NAMES)``):

* ``body_<kind>`` (0/1) for each body shape in ``BODY_KINDS``;
* ``has_<part>`` (0/1) for every part name of the vocabulary (``PART_NAMES``);
* ``n_<part>`` = min(count, 8) / 8 for countable parts (wheels, legs, windows, ...);
* ``tall`` / ``wide`` (0/1): the nominal bounding box is over 1.4 times taller than wide / wider than tall;
* ``is_<group>`` (0/1) for the semantic group (container, vehicle, animal, ...).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from semspace.world.objects.catalog import CATEGORIES, build_parts, get_category
from semspace.world.objects.categories import GROUPS
from semspace.world.objects.layout import object_bounds
from semspace.world.objects.parts import BODY_KINDS, PART_NAMES, PART_PHRASES

COUNTED = ("wheels", "legs", "windows", "wings", "eyes", "arms", "blades", "fins", "leaves", "petals", "rungs", "posts",
           "tiers", "buttons", "rays")  # fmt: skip
ATTRIBUTE_NAMES: tuple[str, ...] = (
    *(f"body_{k}" for k in BODY_KINDS),
    *(f"has_{p}" for p in PART_NAMES),
    *(f"n_{p}" for p in COUNTED),
    "tall",
    "wide",
    *(f"is_{g}" for g in GROUPS),
)
NUM_ATTRIBUTES = len(ATTRIBUTE_NAMES)
_INDEX = {n: i for i, n in enumerate(ATTRIBUTE_NAMES)}
_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
_BODY_WORDS = {"round": "round", "oval": "oval", "box": "boxy", "rounded": "rounded", "triangle": "triangular",
               "trapezoid": "tapered", "dome": "dome-shaped", "diamond": "diamond-shaped"}  # fmt: skip


PAIR_NOUNS = frozenset({"glasses", "scissors"})  # plural-only nouns: "a pair of glasses"


def article(word: str) -> str:
    """``"an"`` before a vowel sound, else ``"a"``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def with_article(noun: str, adjectives: str = "") -> str:
    """``"an old teapot"``, ``"a pair of red glasses"``: a noun phrase with its article."""
    words = f"{adjectives} {noun}".strip()
    if noun in PAIR_NOUNS:
        return f"a pair of {words}"
    return f"{article(words)} {words}"


@cache
def part_counts(name: str) -> dict[str, int]:
    """Part name -> count in the nominal structure of ``name``; the body appears as ``"body:<kind>"``."""
    out: dict[str, int] = {}
    for part in build_parts(name):
        key = f"body:{part.kind}" if part.name == "body" else part.name
        out[key] = out.get(key, 0) + part.count
    return out


def shared_parts(a: str, b: str) -> set[str]:
    """Part names two categories share (a body counts only with the same shape kind)."""
    return set(part_counts(a)) & set(part_counts(b))


@cache
def _attributes(name: str) -> np.ndarray:
    v = np.zeros(NUM_ATTRIBUTES, dtype=np.float32)
    for key, n in part_counts(name).items():
        if key.startswith("body:"):
            v[_INDEX["body_" + key[5:]]] = 1.0
            continue
        v[_INDEX["has_" + key]] = 1.0
        if key in COUNTED:
            v[_INDEX["n_" + key]] = min(n, 8) / 8.0
    lo, hi = object_bounds(build_parts(name))
    w, h = hi - lo
    v[_INDEX["tall"]] = float(h > 1.4 * w)
    v[_INDEX["wide"]] = float(w > 1.4 * h)
    v[_INDEX["is_" + get_category(name).group]] = 1.0
    v.setflags(write=False)
    return v


def attributes(category: str) -> np.ndarray:
    """The float32 ``(A,)`` attribute vector of ``category`` (names in ``ATTRIBUTE_NAMES``)."""
    return _attributes(category).copy()


def attribute_matrix(categories: tuple[str, ...] | list[str] = CATEGORIES) -> np.ndarray:
    """Stacked attribute vectors ``(C, A)`` of ``categories``, in order."""
    return np.stack([_attributes(c) for c in categories]) if categories else np.zeros((0, NUM_ATTRIBUTES), np.float32)


def part_phrase(name: str, count: int, label: str | None = None) -> str:
    """``"a handle"``, ``"four wheels"``, ``"a dome-shaped shell"``: the words for one part."""
    if label is not None:
        noun = label if count == 1 else (label + "es" if label.endswith(("s", "x", "sh", "ch")) else label + "s")
        return f"{article(noun)} {noun}" if count == 1 else f"{_NUMBERS.get(count, str(count))} {noun}"
    one, many = PART_PHRASES[name]
    return one if count == 1 else many.format(n=_NUMBERS.get(count, str(count)))


@cache
def part_phrases(category: str) -> tuple[str, ...]:
    """The phrases of every non-body part of ``category``, in drawing order, merged by name."""
    counts: dict[str, int] = {}
    labels: dict[str, str | None] = {}
    for part in build_parts(category):
        if part.name != "body":
            counts[part.name] = counts.get(part.name, 0) + part.count
            labels.setdefault(part.name, part.label)
    return tuple(part_phrase(n, c, labels[n]) for n, c in counts.items())


@cache
def describe(category: str) -> str:
    """A short part description, e.g. ``"a cup: a tapered body with a handle and a saucer"``."""
    cat = get_category(category)
    body = next((p for p in build_parts(category) if p.name == "body"), None)
    phrases = list(part_phrases(category))
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    head = f"{with_article(cat.noun)}: "
    if body is None:
        return head + listed
    body_words = (
        f"{article(_BODY_WORDS[body.kind or 'round'])} {_BODY_WORDS[body.kind or 'round']} {body.label or 'body'}"
    )
    return head + body_words + (f" with {listed}" if phrases else "")
