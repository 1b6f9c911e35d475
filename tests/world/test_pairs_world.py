"""PairWorld: purity, exemplar/ground-truth semantics, annotations, correlated mode, bad arguments."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semspace.errors import ConfigError
from semspace.world.base import WorldKind
from semspace.world.pairs import (
    CORRELATED_STYLE,
    PAIR_VIEWS,
    AStyle,
    GlyphParams,
    PairWorld,
    coverage_mask,
    render_glyph,
    style_fields,
    style_from_dict,
)

SIZE = 48


@pytest.fixture(scope="module")
def world() -> PairWorld:
    return PairWorld(seed=5, size=SIZE)


def _ink_fraction(img: np.ndarray, style_dict: dict) -> np.ndarray:
    """Least-squares coverage of each pixel between the style's background and ink fields."""
    back, ink = style_fields(style_from_dict(style_dict), img.shape[0])
    x = img.astype(np.float64) / 255.0 - back  # (H, W, 3)
    d = ink - back  # (H, W, 3)
    return (x * d).sum(-1) / (d * d).sum(-1)  # (H, W)


def test_is_a_world_kind(world: PairWorld) -> None:
    assert isinstance(world, WorldKind)
    assert world.name == "pairs" and world.views == world.image_views == PAIR_VIEWS


def test_pure_in_seed_split_index(world: PairWorld) -> None:
    again = PairWorld(seed=5, size=SIZE)
    for idx in (0, 7, 123):
        a, b = world.render_item(idx, "val"), again.render_item(idx, "val")
        assert set(a) == set(PAIR_VIEWS)
        for v in PAIR_VIEWS:
            np.testing.assert_array_equal(a[v], b[v])
        assert world.annotation(idx, "val") == again.annotation(idx, "val")
        # a subset, in another order, gives the same pixels
        sub = world.render_item(idx, "val", ("target_b2a", "target"))
        np.testing.assert_array_equal(sub["target"], a["target"])
        np.testing.assert_array_equal(sub["target_b2a"], a["target_b2a"])
    other_seed = PairWorld(seed=6, size=SIZE).render_item(0, "val")["exemplar"]
    other_split = world.render_item(0, "test")["exemplar"]
    assert not np.array_equal(other_seed, world.render_item(0, "val")["exemplar"])
    assert not np.array_equal(other_split, world.render_item(0, "val")["exemplar"])


def test_views_are_uint8_rgb(world: PairWorld) -> None:
    for v, img in world.render_item(3).items():
        assert isinstance(img, np.ndarray) and img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8, v
    src = world.render_item(3, views=("source",))["source"]
    assert (src[..., 0] == src[..., 1]).all() and (src[..., 1] == src[..., 2]).all()  # domain A is grey


@pytest.mark.parametrize(("src", "ex", "tgt"), [("source", "exemplar", "target"),
                                                ("source_b", "exemplar_a", "target_b2a")])  # fmt: skip
def test_ground_truth_has_source_mask_and_exemplar_style(world: PairWorld, src: str, ex: str, tgt: str) -> None:
    for idx in range(25):
        views, ann = world.render_item(idx), world.annotation(idx)["views"]
        cov_src = coverage_mask(GlyphParams.from_dict(ann[src]["glyph"]), SIZE)
        cov_ex = coverage_mask(GlyphParams.from_dict(ann[ex]["glyph"]), SIZE)
        # content: thresholding source and target at half coverage gives the same foreground mask
        # (8-bit rounding may only flip pixels whose true coverage is within 0.03 of the threshold)
        fg_src = _ink_fraction(views[src], ann[src]["style"]) >= 0.5
        fg_tgt = _ink_fraction(views[tgt], ann[ex]["style"]) >= 0.5
        sure = np.abs(cov_src - 0.5) > 0.03
        assert fg_src.sum() > 20
        np.testing.assert_array_equal(fg_src[sure], fg_tgt[sure])
        np.testing.assert_array_equal(fg_src[sure], (cov_src >= 0.5)[sure])
        # style: where neither digit has ink, the target *is* the exemplar's background, pixel for pixel
        both_bg = (cov_src == 0) & (cov_ex == 0)
        np.testing.assert_array_equal(views[tgt][both_bg], views[ex][both_bg])
        both_ink = (cov_src == 1) & (cov_ex == 1)  # and where both are solid ink, the exemplar's ink
        np.testing.assert_array_equal(views[tgt][both_ink], views[ex][both_ink])
        assert ann[tgt]["digit"] == ann[src]["digit"] != ann[ex]["digit"]
        assert ann[tgt]["glyph"] == ann[src]["glyph"] and ann[tgt]["style"] == ann[ex]["style"]


def test_a_target_keeps_the_exemplar_polarity(world: PairWorld) -> None:
    for idx in range(10):
        ann = world.annotation(idx)["views"]
        img = world.render_item(idx, views=("target_b2a",))["target_b2a"]
        expected_bg = 0 if ann["exemplar_a"]["style"]["polarity"] == "white_on_black" else 255
        assert (img[0] == expected_bg).all()  # the top row never has ink


def test_annotation_is_json_and_complete(world: PairWorld) -> None:
    for idx in (0, 1, 2):
        ann = json.loads(json.dumps(world.annotation(idx, "test")))
        views = world.render_item(idx, "test")
        assert ann["label"] == ann["views"]["source"]["digit"] and ann["label_b"] == ann["views"]["source_b"]["digit"]
        for v in PAIR_VIEWS:  # every view can be redrawn from its annotation alone
            a = ann["views"][v]
            again = render_glyph(GlyphParams.from_dict(a["glyph"]), style_from_dict(a["style"]), SIZE)
            np.testing.assert_array_equal(again, views[v])
            assert a["domain"] == ("a" if v in ("source", "exemplar_a", "target_b2a") else "b")


def test_contents_and_styles_vary(world: PairWorld) -> None:
    anns = [world.annotation(i) for i in range(150)]
    assert {a["label"] for a in anns} == set(range(10)) and {a["label_b"] for a in anns} == set(range(10))
    ex_styles = [json.dumps(a["views"]["exemplar"]["style"], sort_keys=True) for a in anns]
    assert len(set(ex_styles)) == len(ex_styles)  # no two items share a B style
    assert all(a["views"]["exemplar_a"]["digit"] != a["views"]["source_b"]["digit"] for a in anns)
    pol = [a["views"]["source"]["style"]["polarity"] for a in anns]
    assert 0.3 < np.mean([p == "white_on_black" for p in pol]) < 0.7
    assert not any(json.dumps(a["views"]["source_b"]["style"]) == json.dumps(CORRELATED_STYLE.to_dict()) for a in anns)


def test_correlated_mode_only_in_train() -> None:
    plain, corr = PairWorld(seed=1, size=16), PairWorld(seed=1, size=16, correlated=True)
    for idx in range(60):
        for split in ("train", "test"):
            s_plain, s_corr = plain.samples(idx, split), corr.samples(idx, split)
            for role, sample in s_corr.items():
                assert sample.glyph == s_plain[role].glyph  # content never changes
                if isinstance(sample.style, AStyle):
                    assert sample.style == s_plain[role].style
                elif split == "train" and sample.glyph.digit > 4:
                    assert sample.style == CORRELATED_STYLE
                else:
                    assert sample.style == s_plain[role].style


def test_bad_arguments(world: PairWorld) -> None:
    with pytest.raises(ConfigError, match=r"pairs world: unknown split 'dev'; available: \['train', 'val', 'test'\]"):
        world.render_item(0, "dev")
    with pytest.raises(KeyError, match="source_b"):
        world.render_item(0, "train", ("photo",))
    with pytest.raises(IndexError):
        world.annotation(-1)
    with pytest.raises(ValueError, match="size"):
        PairWorld(size=4)


def test_render_item_gives_every_view_of_many_items() -> None:
    """Every item renders all six views at 64x64; the speed of this loop is benchmarks/world_speed.py's job."""
    w = PairWorld(seed=0, size=64)
    for i in range(50):
        views = w.render_item(i)
        assert tuple(views) == PAIR_VIEWS
        for name, img in views.items():
            assert isinstance(img, np.ndarray) and img.shape == (64, 64, 3) and img.dtype == np.uint8, name
            assert img.min() < img.max(), name  # a digit on a background, not a blank canvas
