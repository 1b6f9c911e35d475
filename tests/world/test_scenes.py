"""Scenes kind: specs and keys, modifications (checked by an independent text parser), text, world, dataset."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from semspace import types as T
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.utils.hashing import stable_int
from semspace.world.base import WorldKind
from semspace.world.scenes import SCENE_WORDS, ObjectSpec, SceneSpec, SceneTripletDataset, SceneWorld, describe
from semspace.world.scenes.modify import sample_modification
from semspace.world.scenes.spec import CELLS, COLORS, SHAPES, SIZES
from semspace.world.scenes.text import tokenize

SZ, CO, SH = "|".join(SIZES), "|".join(COLORS), "|".join(SHAPES)
POS = "|".join(sorted(CELLS, key=len, reverse=True))
NOUN = rf"({SZ}) ({CO}) ({SH})"
ADD = re.compile(rf"^add a {NOUN} at the ({POS})$")
REMOVE = re.compile(rf"^remove the {NOUN}(?: at the ({POS}))?$")
CHANGE = re.compile(rf"^make the {NOUN}(?: at the ({POS}))? (?:a ({SH})|({CO})|({SZ}))$")
CLAUSE = re.compile(rf"^a {NOUN} at the ({POS})$")


def parse_description(text: str) -> SceneSpec:
    """Independent inverse of describe()."""
    objs = []
    for clause in text.split(", "):
        m = CLAUSE.match(clause)
        assert m, clause
        objs.append(ObjectSpec(shape=m[3], color=m[2], size=m[1], cell=CELLS.index(m[4])))
    return SceneSpec(tuple(objs))


def _resolve(scene: SceneSpec, size: str, color: str, shape: str, pos: str | None) -> ObjectSpec:
    hits = [o for o in scene.objects if (o.size, o.color, o.shape) == (size, color, shape)]
    if pos is not None:
        hits = [o for o in hits if o.position == pos]
    assert len(hits) == 1, f"text names {len(hits)} objects"
    return hits[0]


def apply_text(scene: SceneSpec, text: str) -> SceneSpec:
    """Applies a modification text to a scene without using semspace's modify module."""
    if m := ADD.match(text):
        cell = CELLS.index(m[4])
        assert all(o.cell != cell for o in scene.objects), "add collides with an existing object"
        return SceneSpec((*scene.objects, ObjectSpec(shape=m[3], color=m[2], size=m[1], cell=cell)))
    if m := REMOVE.match(text):
        obj = _resolve(scene, m[1], m[2], m[3], m[4])
        return SceneSpec(tuple(o for o in scene.objects if o is not obj))
    m = CHANGE.match(text)
    assert m, f"unparseable modification {text!r}"
    obj = _resolve(scene, m[1], m[2], m[3], m[4])
    new = ObjectSpec(shape=m[5] or obj.shape, color=m[6] or obj.color, size=m[7] or obj.size, cell=obj.cell)
    assert new != obj, "change must change something"
    return SceneSpec(tuple(new if o is obj else o for o in scene.objects))


# ---- spec and keys --------------------------------------------------------------------------------------------


def test_key_is_order_free_and_equality_matches_key():
    a = ObjectSpec("cube", "red", "large", 0)
    b = ObjectSpec("sphere", "blue", "small", 4)
    s1, s2 = SceneSpec((a, b)), SceneSpec((b, a))
    assert s1 == s2 and s1.key() == s2.key() and hash(s1) == hash(s2)
    moved = SceneSpec((a, ObjectSpec("sphere", "blue", "small", 5)))
    recoloured = SceneSpec((a, ObjectSpec("sphere", "green", "small", 4)))
    for other in (moved, recoloured, SceneSpec((a,))):
        assert other != s1 and other.key() != s1.key()
    assert SceneSpec.from_json(s1.to_json()) == s1


def test_key_equality_over_random_scenes():
    world = SceneWorld(seed=3)
    scenes = [world.scene(i) for i in range(300)]
    for s, t in zip(scenes, scenes[1:] + scenes[:1], strict=True):
        assert (s == t) == (s.key() == t.key())
        assert parse_description(describe(s)) == s  # the key carries everything the text does


def test_spec_rejects_bad_fields():
    with pytest.raises(DataError, match="shape"):
        ObjectSpec("pyramid", "red", "large", 0)
    with pytest.raises(DataError, match="color"):
        ObjectSpec("cube", "pink", "large", 0)
    with pytest.raises(DataError, match="cell"):
        ObjectSpec("cube", "red", "large", 9)
    with pytest.raises(DataError, match="share a cell"):
        SceneSpec((ObjectSpec("cube", "red", "large", 2), ObjectSpec("sphere", "red", "small", 2)))


# ---- modifications --------------------------------------------------------------------------------------------


def test_modifications_match_their_text_exactly():
    world = SceneWorld(seed=11)
    kinds, attrs = set(), set()
    for i in range(400):
        source, mod, target = world.triplet(i, "val")
        assert apply_text(source, mod.text) == target, (source.key(), mod.text, target.key())
        assert 1 <= len(source) <= 5 and 1 <= len(target) <= 5
        assert abs(len(target) - len(source)) == (0 if mod.kind == "change" else 1)
        kinds.add(mod.kind)
        attrs.add(mod.attribute)
    assert kinds == {"add", "remove", "change"} and attrs == {None, "color", "shape", "size"}


def test_ambiguous_objects_are_named_by_position():
    twin = [ObjectSpec("cube", "red", "large", c) for c in (0, 8)]
    scene = SceneSpec((*twin, ObjectSpec("sphere", "gray", "small", 4)))
    seen_position = False
    for s in range(60):
        mod, target = sample_modification(scene, np.random.default_rng(s), 1, 5)
        assert apply_text(scene, mod.text) == target
        if mod.kind != "add" and mod.obj in twin:
            assert mod.text.count(" at the ") == 1
            seen_position = True
        elif mod.kind != "add":
            assert " at the " not in mod.text  # unique objects are named without position
    assert seen_position


def test_modification_respects_object_bounds():
    full = SceneSpec(tuple(ObjectSpec("cube", "red", "small", c) for c in range(5)))
    single = SceneSpec((ObjectSpec("cube", "red", "small", 0),))
    for s in range(30):
        assert sample_modification(full, np.random.default_rng(s), 1, 5)[0].kind != "add"
        assert sample_modification(single, np.random.default_rng(s), 1, 5)[0].kind != "remove"


# ---- text ---------------------------------------------------------------------------------------------------


def test_describe_is_canonical_and_vocabulary_closed():
    a, b = ObjectSpec("cube", "red", "large", 0), ObjectSpec("sphere", "blue", "small", 4)
    assert describe(SceneSpec((b, a))) == "a large red cube at the top left, a small blue sphere at the center"
    world, words = SceneWorld(seed=5), set()
    for i in range(200):
        item = world.render_item(i, "train", world.text_views)
        for v in world.text_views:
            words.update(tokenize(item[v]))
    assert words <= set(SCENE_WORDS) and len(SCENE_WORDS) < 60
    assert SceneTripletDataset.vocabulary() == sorted(SCENE_WORDS)


# ---- world --------------------------------------------------------------------------------------------------


def test_world_is_pure_and_seeded():
    w1, w2, w3 = SceneWorld(seed=7), SceneWorld(seed=7), SceneWorld(seed=8)
    assert isinstance(w1, WorldKind)
    a, b = w1.render_item(4, "train"), w2.render_item(4, "train")
    assert set(a) == set(w1.views)
    for v in w1.views:
        assert np.array_equal(a[v], b[v]) if v in w1.image_views else a[v] == b[v]
    assert w1.annotation(4) == w2.annotation(4)
    keys = [w1.scene(i).key() for i in range(20)]
    assert keys != [w3.scene(i).key() for i in range(20)]
    assert keys != [w1.scene(i, "test").key() for i in range(20)]
    c = w3.render_item(4, "train", ("render3d",))
    assert not np.array_equal(a["render3d"], c["render3d"])


def test_render_item_shapes_and_annotation():
    world = SceneWorld(seed=0, size=40)
    item = world.render_item(2, "test")
    for v in world.image_views:
        assert item[v].shape == (40, 40, 3) and item[v].dtype == np.uint8
    for v in world.text_views:
        assert isinstance(item[v], str) and item[v]
    ann = world.annotation(2, "test")
    source, mod, target = world.triplet(2, "test")
    assert ann["source_key"] == source.key() and ann["target_key"] == target.key()
    assert ann["source_label"] == stable_int(source.key()) and ann["mod_text"] == mod.text == item["mod_text"]
    assert SceneSpec.from_json(ann["target_objects"]) == target and ann["target_text"] == item["target_text"]
    with pytest.raises(ConfigError, match="view"):
        world.render_item(0, "train", ("sketch",))
    with pytest.raises(ConfigError, match=r"scenes world: unknown split 'dev'; available: \['train', 'val', 'test'\]"):
        world.scene(0, "dev")


def test_jitter_changes_pixels_not_keys():
    world = SceneWorld(seed=1)
    scene = world.scene(0)
    for view in ("blobs2d", "render3d"):
        a, b = world.render(scene, view, 0), world.render(scene, view, 1)
        assert not np.array_equal(a, b)  # another item's jitter stream
        assert not np.array_equal(a, world.render(scene, view, 0, which="target"))


# ---- dataset ------------------------------------------------------------------------------------------------


def test_dataset_items_and_paired_views():
    kw = {"seed": 2, "split": "val", "n": 6, "size": 32}
    sets = {v: SceneTripletDataset(view=v, **kw) for v in ("blobs2d", "render3d", "text")}
    assert DATASETS.get("world_scenes") is SceneTripletDataset
    for i in (0, 5):
        items = {v: ds[i] for v, ds in sets.items()}
        for v, item in items.items():
            assert item[T.DOMAIN] == v and int(item[T.INDEX]) == i
            assert item[T.LABEL].dtype == torch.int64 and int(item[T.LABEL]) == stable_int(item[T.KEY])
            assert int(item[T.TARGET_LABEL]) == stable_int(item[T.TARGET_KEY])
            assert parse_description(item[T.TEXT]).key() == item[T.KEY]
            assert apply_text(parse_description(item[T.TEXT]), item[T.MOD_TEXT]).key() == item[T.TARGET_KEY]
            for k in (T.KEY, T.TARGET_KEY, T.MOD_TEXT, T.TEXT, T.TARGET_TEXT):
                assert item[k] == items["text"][k]
        assert T.IMAGE not in items["text"] and T.TARGET_IMAGE not in items["text"]
        for v in ("blobs2d", "render3d"):
            img = items[v][T.IMAGE]
            assert img.shape == (3, 32, 32) and img.dtype == torch.float32 and 0 <= img.min() <= img.max() <= 1
            assert items[v][T.TARGET_IMAGE].shape == (3, 32, 32)
    raw = SceneWorld(seed=2, size=32).render_item(5, "val", ("blobs2d",))["blobs2d"]
    assert torch.equal(sets["blobs2d"][5][T.IMAGE], torch.from_numpy(raw).permute(2, 0, 1).float() / 255)
    with pytest.raises(IndexError):
        sets["text"][6]


def test_dataset_transform_collate_and_errors():
    ds = SceneTripletDataset(n=4, size=24, view="blobs2d", transform=lambda im: torch.tensor(im.size))
    assert torch.equal(ds[0][T.IMAGE], torch.tensor([24, 24]))
    batch = next(iter(torch.utils.data.DataLoader(SceneTripletDataset(n=4, size=24, view="render3d"), batch_size=4)))
    assert batch[T.IMAGE].shape == (4, 3, 24, 24) and len(batch[T.MOD_TEXT]) == 4 and batch[T.LABEL].shape == (4,)
    with pytest.raises(ConfigError, match="view"):
        SceneTripletDataset(view="photo")
    with pytest.raises(ConfigError, match="split"):
        SceneTripletDataset(split="dev")


def test_paired_view_is_the_same_source_scene_in_another_domain() -> None:
    import torch

    from semspace.types import IMAGE, KEY, PAIRED_IMAGE, TARGET_IMAGE
    from semspace.world.scenes.dataset import SceneTripletDataset

    paired = SceneTripletDataset(seed=3, split="val", n=4, size=32, view="blobs2d", paired_view="render3d",
                                 targets=False)  # fmt: skip
    flat3d = SceneTripletDataset(seed=3, split="val", n=4, size=32, view="render3d")
    for i in range(4):
        a, b = paired[i], flat3d[i]
        assert a[KEY] == b[KEY] and TARGET_IMAGE not in a
        assert torch.equal(a[PAIRED_IMAGE], b[IMAGE])  # the same render of the same source scene


@pytest.mark.parametrize("mods_per_scene", [1, 3])
def test_scene_gallery_holds_every_source_then_every_target(mods_per_scene: int) -> None:
    from semspace.data import create_dataset
    from semspace.types import IMAGE, KEY, SOURCE_INDEX, TARGET_IMAGE, TARGET_KEY

    queries = create_dataset("world_scenes", split="test", n=7, size=32, view="render3d", mods_per_scene=mods_per_scene)
    gallery = queries.gallery()
    n_sources = -(-7 // mods_per_scene)
    assert len(gallery) == n_sources + 7
    for i in range(7):
        q = queries[i]
        s = int(q[SOURCE_INDEX])
        assert s == i // mods_per_scene
        assert torch.equal(gallery[s][IMAGE], q[IMAGE]) and gallery[s][KEY] == q[KEY]
        t = gallery[n_sources + i]
        assert torch.equal(t[IMAGE], q[TARGET_IMAGE]) and t[KEY] == q[TARGET_KEY]
    if mods_per_scene > 1:  # one source scene, several modifications
        assert queries[0][KEY] == queries[1][KEY] and queries[0]["mod_text"] != queries[1]["mod_text"]
    flat = queries.gallery(view="blobs2d")
    assert flat[0][KEY] == gallery[0][KEY] and not torch.equal(flat[0][IMAGE], gallery[0][IMAGE])
