"""Photo, sketch and text views of the objects world, and the ObjectWorld contract."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from semspace.errors import ConfigError
from semspace.world.base import WorldKind
from semspace.world.objects import CATEGORIES, UNSEEN_CLASSES, ObjectWorld, attributes
from semspace.world.objects.attributes import part_phrases
from semspace.world.objects.layout import Pose, place
from semspace.world.objects.parts import Part, rect
from semspace.world.objects.photo import render_photo
from semspace.world.objects.sketch import _resample, _visible_paths
from semspace.world.objects.spec import sample_photo_spec


@pytest.fixture(scope="module")
def world():
    return ObjectWorld(seed=3)


def test_world_follows_the_kind_contract(world):
    assert isinstance(world, WorldKind) and world.name == "objects"
    assert world.categories == list(CATEGORIES)
    assert [world.category(i) for i in range(3)] == list(CATEGORIES[:3])
    assert world.category(len(CATEGORIES) + 1) == CATEGORIES[1]  # balanced: idx % n_classes
    unseen = ObjectWorld(classes="unseen")
    assert unseen.categories == list(UNSEEN_CLASSES) and unseen.n_classes == len(UNSEEN_CLASSES)


@pytest.mark.parametrize("size", [64, 32])
def test_render_shapes_and_dtypes(size):
    item = ObjectWorld(seed=1, size=size).render_item(7, "val")
    assert set(item) == {"photo", "sketch", "text"}
    for v in ("photo", "sketch"):
        assert item[v].shape == (size, size, 3) and item[v].dtype == np.uint8
    assert isinstance(item["text"], str) and item["text"]


def test_pure_function_of_seed_split_and_index(world):
    a = world.render_item(11, "train")
    b = ObjectWorld(seed=3).render_item(11, "train", ("sketch", "photo", "text"))
    for v in ("photo", "sketch"):
        assert np.array_equal(a[v], b[v])
    assert a["text"] == b["text"] and world.annotation(11) == ObjectWorld(seed=3).annotation(11)
    other_split = world.render_item(11, "test")
    other_seed = ObjectWorld(seed=4).render_item(11, "train")
    assert not np.array_equal(a["photo"], other_split["photo"])
    assert not np.array_equal(a["sketch"], other_seed["sketch"])


def test_sketch_is_dark_strokes_on_white(world):
    n = len(CATEGORIES)
    for idx in range(0, n, 4):
        s = world.render_item(idx, views=("sketch",))["sketch"]
        assert (s[..., 0] == s[..., 1]).all() and (s[..., 1] == s[..., 2]).all()  # grey levels
        assert (s > 200).mean() > 0.7, CATEGORIES[idx]  # mostly paper
        assert (s < 100).sum() >= 15, CATEGORIES[idx]  # but with dark strokes
        assert s[0, 0, 0] == 255


def test_two_sketches_of_one_class_differ(world):
    n = len(CATEGORIES)
    for idx in (0, 19, 56):
        a = world.render_item(idx, views=("sketch",))["sketch"].astype(float)
        b = world.render_item(idx + n, views=("sketch",))["sketch"].astype(float)
        assert world.category(idx) == world.category(idx + n)
        assert np.abs(a - b).mean() > 3.0


def test_photo_and_sketch_are_independent_instances(world):
    ann = world.annotation(5)
    assert ann["photo"]["pose"] != ann["sketch"]["pose"]
    assert ann["photo"]["geometry_seed"] != ann["sketch"]["geometry_seed"]


def test_photo_backgrounds_vary(world):
    corners = np.stack([world.render_item(i, views=("photo",))["photo"][1, 1].astype(float) for i in range(24)])
    assert len({tuple(c // 24) for c in corners}) >= 8
    kinds = {world.photo_spec(i).background for i in range(40)}
    assert kinds == {"plain", "gradient", "floor", "noise", "stripes"}


def test_photo_texture_changes_the_object_not_the_background():
    spec = sample_photo_spec("mug", np.random.default_rng(0))
    plain = dataclasses.replace(spec, texture="plain", shadow=0.0, noise=0.0)
    striped = dataclasses.replace(plain, texture="striped")
    a, b = render_photo(plain).astype(float), render_photo(striped).astype(float)
    diff = np.abs(a - b).sum(axis=-1)
    assert diff.max() > 30 and diff[0, :].max() == 0 and diff[:, 0].max() == 0


def test_hidden_outlines_are_removed():
    small, big = Part("a", (rect(-0.2, -0.2, 0.2, 0.2),)), Part("b", (rect(-1, -1, 1, 1),))
    paths, _ = _visible_paths(place([big, small], Pose(), 64), 64)  # small square drawn on top: both visible
    assert len(paths) == 2 and all(closed for _, closed in paths)
    paths, _ = _visible_paths(place([small, big], Pose(), 64), 64)  # small square hidden behind the big one
    assert len(paths) == 1


def test_resample_spacing():
    sq = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    p = _resample(sq, True, 1.0)
    assert len(p) == 40 and np.allclose(np.linalg.norm(np.diff(p, axis=0), axis=1), 1.0)


def test_captions_name_class_colour_and_real_parts(world):
    for idx in range(0, 2 * len(CATEGORIES), 3):
        ann = world.annotation(idx)
        cap, name = ann["caption"], ann["class"]
        assert name.replace("_", " ") in cap and ann["photo"]["color"] in cap
        assert not re.search(r"\ba [aeiou]", cap), cap  # "an orange", never "a orange"
        mentioned = [p for p in part_phrases(name) if p in cap]
        assert mentioned or "picture of" in cap or "close-up" in cap


def test_annotation_is_json_ground_truth(world):
    ann = json.loads(json.dumps(world.annotation(8, "test")))
    assert ann["class"] == world.category(8, "test") and ann["class_id"] == CATEGORIES.index(ann["class"])
    assert ann["class_split"] in ("seen", "unseen") and ann["attributes"] == attributes(ann["class"]).tolist()
    assert {"photo", "sketch", "caption", "description"} <= set(ann)


def test_bad_arguments(world):
    with pytest.raises(ConfigError, match=r"objects world: unknown split 'dev'; available: \['train', 'val', 'test'\]"):
        world.render_item(0, "dev")
    with pytest.raises(ValueError, match="unknown view"):
        world.render_item(0, "train", ("render3d",))
    with pytest.raises(IndexError):
        world.category(-1)
