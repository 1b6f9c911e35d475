"""The fixed seen/unseen split of the objects world."""

from __future__ import annotations

import pytest

from semspace.errors import ConfigError
from semspace.world.objects import CATEGORIES, SEEN_CLASSES, UNSEEN_CLASSES, class_split, resolve_classes
from semspace.world.objects.attributes import part_counts
from semspace.world.objects.catalog import get_category


def test_split_partitions_the_categories():
    assert set(SEEN_CLASSES) | set(UNSEEN_CLASSES) == set(CATEGORIES)
    assert not set(SEEN_CLASSES) & set(UNSEEN_CLASSES)
    assert 0.2 <= len(UNSEEN_CLASSES) / len(CATEGORIES) <= 0.3
    assert all(class_split(c) == "unseen" for c in UNSEEN_CLASSES)
    assert all(class_split(c) == "seen" for c in SEEN_CLASSES)


def test_every_unseen_class_shares_two_parts_with_a_seen_class():
    for u in UNSEEN_CLASSES:
        best = 0
        for s in SEEN_CLASSES:  # naive loop over the part inventories
            shared = [p for p in part_counts(u) if p in part_counts(s)]
            best = max(best, len(shared))
        assert best >= 2, u


def test_no_semantic_group_is_wholly_unseen():
    seen_groups = {get_category(c).group for c in SEEN_CLASSES}
    assert {get_category(c).group for c in UNSEEN_CLASSES} <= seen_groups


def test_resolve_classes():
    assert resolve_classes("all") == CATEGORIES
    assert resolve_classes("seen") == SEEN_CLASSES and resolve_classes("unseen") == UNSEEN_CLASSES
    assert resolve_classes(["teapot", "cup"]) == ("cup", "teapot")  # the table's order
    with pytest.raises(ConfigError, match="classes must be one of"):
        resolve_classes("some")
    with pytest.raises(ConfigError, match="unknown object category"):
        resolve_classes(["cup", "griffin"])
    with pytest.raises(ConfigError, match="empty"):
        resolve_classes([])
