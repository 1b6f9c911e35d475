"""The objects world's category table and class semantics: structure, attributes, descriptions."""

from __future__ import annotations

import re

import numpy as np
import pytest

from semspace.errors import ConfigError
from semspace.world.objects import ATTRIBUTE_NAMES, CATEGORIES, NUM_ATTRIBUTES, attribute_matrix, attributes, describe
from semspace.world.objects.attributes import part_counts, part_phrase, shared_parts, with_article
from semspace.world.objects.catalog import build_parts, class_id, get_category
from semspace.world.objects.categories import GROUPS
from semspace.world.objects.parts import BODY_KINDS, PART_PHRASES, ROLES, Jitter, union_outline


def test_at_least_forty_named_categories():
    assert len(CATEGORIES) >= 40
    assert list(CATEGORIES) == sorted(set(CATEGORIES))  # fixed alphabetical order, no duplicates
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", c) for c in CATEGORIES)
    assert [class_id(c) for c in CATEGORIES] == list(range(len(CATEGORIES)))


def test_unknown_category_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown object category 'unicorn'.*teapot"):
        get_category("unicorn")


@pytest.mark.parametrize("name", CATEGORIES)
def test_parts_are_well_formed_and_jitter_keeps_structure(name):
    nominal = build_parts(name)
    assert nominal and get_category(name).group in GROUPS
    for part in nominal:
        assert part.name == "body" or part.name in PART_PHRASES
        assert (part.kind in BODY_KINDS) if part.name == "body" else part.kind is None
        for s in part.shapes:
            assert s.points.ndim == 2 and s.points.shape[1] == 2 and np.isfinite(s.points).all()
            assert s.kind in ("fill", "line", "dot") and s.role in ROLES
            assert len(s.points) >= (2 if s.kind == "line" else 3)
    for seed in range(3):  # within-class variation changes proportions, never the structure
        varied = build_parts(name, Jitter(np.random.default_rng(seed)))
        assert [(p.name, p.count, p.kind, len(p.shapes)) for p in varied] == [
            (p.name, p.count, p.kind, len(p.shapes)) for p in nominal
        ]


def test_categories_differ_by_structure():
    structures = [tuple(sorted(part_counts(c).items())) for c in CATEGORIES]
    assert len(set(structures)) == len(CATEGORIES)


def test_attribute_vectors_are_unique_and_well_formed():
    assert len(ATTRIBUTE_NAMES) == len(set(ATTRIBUTE_NAMES)) == NUM_ATTRIBUTES
    m = attribute_matrix()
    assert m.shape == (len(CATEGORIES), NUM_ATTRIBUTES) and m.dtype == np.float32
    assert ((m >= 0) & (m <= 1)).all()
    for i in range(len(CATEGORIES)):  # naive pairwise check
        for j in range(i + 1, len(CATEGORIES)):
            assert not np.array_equal(m[i], m[j]), (CATEGORIES[i], CATEGORIES[j])
    groups = m[:, [ATTRIBUTE_NAMES.index(f"is_{g}") for g in GROUPS]]
    assert (groups.sum(axis=1) == 1).all()  # one semantic group per class
    assert (m[:, : len(BODY_KINDS)].sum(axis=1) <= 1).all()  # at most one body shape


def test_attributes_match_hand_built_structure():
    a = dict(zip(ATTRIBUTE_NAMES, attributes("cup"), strict=True))
    assert a["has_handle"] == a["has_saucer"] == a["body_trapezoid"] == a["is_container"] == 1.0
    assert a["has_wheels"] == a["body_round"] == 0.0
    car = dict(zip(ATTRIBUTE_NAMES, attributes("car"), strict=True))
    truck = dict(zip(ATTRIBUTE_NAMES, attributes("truck"), strict=True))
    assert car["n_wheels"] == 2 / 8 and truck["n_wheels"] == 3 / 8 and car["wide"] == 1.0
    assert dict(zip(ATTRIBUTE_NAMES, attributes("ladder"), strict=True))["tall"] == 1.0
    v = attributes("cup")
    v[:] = 7  # callers get a copy; the class semantics cannot be corrupted
    assert attributes("cup").max() == 1.0


def test_shared_parts_and_descriptions():
    assert shared_parts("mug", "cup") == {"handle"}  # different body shapes do not count
    assert {"wheels", "cabin", "windows"} <= shared_parts("truck", "car")
    assert describe("cup") == "a cup: a tapered body with a handle and a saucer"
    for c in CATEGORIES:
        d = describe(c)
        assert d.startswith(with_article(c.replace("_", " ")) + ": ") and len(d) < 160
    assert part_phrase("wheels", 4) == "four wheels" and part_phrase("ring", 2, "lens") == "two lenses"
    assert with_article("apple") == "an apple" and with_article("scissors", "red") == "a pair of red scissors"


def test_union_outline_keeps_only_outer_points():
    pts = union_outline([(0.0, 0.0, 1.0), (1.0, 0.0, 1.0)])
    d0 = np.linalg.norm(pts - [0.0, 0.0], axis=1)
    d1 = np.linalg.norm(pts - [1.0, 0.0], axis=1)
    assert (np.minimum(d0, d1) > 1 - 1e-6).all()  # nothing strictly inside either circle
    assert pts[:, 0].min() == pytest.approx(-1.0) and pts[:, 0].max() == pytest.approx(2.0)
