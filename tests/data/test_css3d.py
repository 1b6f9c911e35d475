"""``css3d`` loader and TIRG's 2D blob renderer, on a tiny fixture in exactly TIRG's on-disk layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from semspace import types as T
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.datasets.css3d import ANNOTATIONS, CSS3DDataset
from semspace.data.datasets.css_blobs import render_css_blobs
from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import attach_transform, build_transform
from semspace.errors import ConfigError, DataError
from semspace.utils.hashing import stable_int

WHITE = (255, 255, 255)
RED, BLUE, GREEN = (244, 35, 35), (42, 75, 215), (29, 205, 20)


def _obj(y: float, x: float, shape: str, color: str, size: str = "small") -> dict[str, Any]:
    return {"pos": [y, x], "shape": shape, "color": color, "size": size}


def _annotations() -> dict[str, Any]:
    train_objects = [
        [_obj(0.5, 0.5, "rectangle", "red")],
        [_obj(0.5, 0.5, "rectangle", "blue")],
        [_obj(0.5, 0.5, "rectangle", "red"), _obj(0.2, 0.2, "circle", "green", "large")],
        [_obj(0.8, 0.3, "triangle", "yellow")],
    ]
    return {
        "train": {
            "objects_img": train_objects,
            "labels": [10, 11, 12, 11],  # images 1 and 3 are the same scene class
            "mods": [
                {"from": [0, 2], "to": [1, 3], "to_str": "make red square blue"},
                {"from": [0], "to": [2], "to_str": "add large green circle"},
            ],
        },
        "test": {  # no labels: an image's key is its id
            "objects_img": [[_obj(0.3, 0.3, "circle", "cyan")], [], [_obj(0.6, 0.6, "triangle", "gray", "large")]],
            "mods": [{"from": [2, 0], "to": [1, 2], "to_str": "remove gray triangle"}],
        },
    }


def _png_colour(split: str, i: int) -> tuple[int, int, int]:
    return (10 + 40 * i, 200 if split == "train" else 100, 7)  # tells which PNG was loaded


def _write(root: Path, data: dict[str, Any], pngs: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / ANNOTATIONS, np.array(data, dtype=object), allow_pickle=True)
    if pngs:
        (root / "images").mkdir()
        for split, part in data.items():
            for i in range(len(part["objects_img"])):
                Image.new("RGB", (5, 4), _png_colour(split, i)).save(root / "images" / f"css_{split}_{i:06d}.png")
    return root


@pytest.fixture
def css_root(tmp_path: Path) -> Path:
    return _write(tmp_path / "CSS", _annotations())


def _colour(img: Image.Image) -> tuple[int, int, int]:
    return tuple(np.asarray(img)[0, 0].tolist())  # type: ignore[return-value]


# ---- the 2D blob renderer against hand-computed pixels ------------------------------------------
def _painted(img: np.ndarray) -> dict[int, list[int]]:
    """Non-white pixels as {row: [columns]}."""
    ys, xs = np.nonzero((img != 255).any(axis=2))
    out: dict[int, list[int]] = {}
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        out.setdefault(y, []).append(x)
    return out


def test_blob_square_small_centre() -> None:
    img = render_css_blobs([_obj(0.5, 0.5, "rectangle", "red")])
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert _painted(img) == {r: list(range(28, 36)) for r in range(28, 36)}  # y = x = 32, s = 4: [28, 36)
    assert tuple(img[30, 30]) == RED


def test_blob_circle_is_tirg_diamond() -> None:
    # y = x = 16, s = 4: row y0 spans [16 + |y0 - 16| - 4, 16 - |y0 - 16| + 4); rows 12 and 20 are empty
    expected = {
        13: [15, 16],
        14: [14, 15, 16, 17],
        15: [13, 14, 15, 16, 17, 18],
        16: list(range(12, 20)),
        17: [13, 14, 15, 16, 17, 18],
        18: [14, 15, 16, 17],
        19: [15, 16],
    }
    img = render_css_blobs([_obj(0.25, 0.25, "circle", "blue")])
    assert _painted(img) == expected
    assert tuple(img[16, 12]) == BLUE


def test_blob_circle_fractional_centre_paints_last_row() -> None:
    # y = 17.28, x = 32, s = 4: rows 13..21 (int(y + s) included); row y0 spans [x0, 64 - x0), x0 = 32 + |y0 - y| - 4
    expected = {
        14: [31],
        15: [30, 31, 32],
        16: [29, 30, 31, 32, 33],
        17: list(range(28, 35)),
        18: list(range(28, 35)),
        19: [29, 30, 31, 32, 33],
        20: [30, 31, 32],
        21: [31],
    }
    assert _painted(render_css_blobs([_obj(0.27, 0.5, "circle", "purple")])) == expected


def test_blob_triangle_apex_up() -> None:
    # y = 48, x = 32, s = 4: row y0 in [44, 52) spans [32 - (y0 - 44) / 2, 32 + (y0 - 44) / 2), ints truncated
    expected = {
        45: [31],
        46: [31, 32],
        47: [30, 31, 32],
        48: [30, 31, 32, 33],
        49: [29, 30, 31, 32, 33],
        50: [29, 30, 31, 32, 33, 34],
        51: [28, 29, 30, 31, 32, 33, 34],
    }
    img = render_css_blobs([_obj(0.75, 0.5, "triangle", "green")])
    assert _painted(img) == expected
    assert tuple(img[51, 28]) == GREEN


def test_blob_large_fractional_position_truncates() -> None:
    # y = 19.2, x = 44.8, s = 8: rows int(11.2)..int(27.2) = [11, 27), cols int(36.8)..int(52.8) = [36, 52)
    img = render_css_blobs([_obj(0.3, 0.7, "rectangle", "gray", "large")])
    assert _painted(img) == {r: list(range(36, 52)) for r in range(11, 27)}


def test_blob_later_objects_cover_earlier_and_border_clips() -> None:
    img = render_css_blobs([_obj(0.5, 0.5, "rectangle", "red", "large"), _obj(0.5, 0.5, "rectangle", "blue")])
    assert tuple(img[24, 24]) == RED and tuple(img[30, 30]) == BLUE
    corner = render_css_blobs([_obj(0.0, 0.0, "rectangle", "cyan", "large")])
    assert _painted(corner) == {r: list(range(8)) for r in range(8)}  # [-8, 8) clipped, no wrap-around


def test_blob_bad_object_names_it() -> None:
    with pytest.raises(ValueError, match=r"object 1: 'color' is 'pink'"):
        render_css_blobs([_obj(0.5, 0.5, "circle", "red"), _obj(0.5, 0.5, "circle", "pink")])


# ---- the dataset --------------------------------------------------------------------------------
def test_items_are_every_mod_pair_in_order(css_root: Path) -> None:
    data = _annotations()["train"]
    expected = [(m["to_str"], f, t) for m in data["mods"] for f, t in zip(m["from"], m["to"], strict=True)]
    ds = CSS3DDataset(css_root, "train")
    assert len(ds) == len(expected) == 3
    for i, (text, f, t) in enumerate(expected):
        item = ds[i]
        assert item[T.MOD_TEXT] == text and item[T.INDEX] == i
        assert item[T.KEY] == str(data["labels"][f]) and item[T.TARGET_KEY] == str(data["labels"][t])
        assert item[T.LABEL].dtype == torch.int64 and int(item[T.LABEL]) == stable_int(item[T.KEY])
        assert int(item[T.TARGET_LABEL]) == stable_int(item[T.TARGET_KEY])
        assert int(item[T.SOURCE_INDEX]) == f and item[T.DOMAIN] == "render3d"
        assert item[T.PATH] == str(css_root / "images" / f"css_train_{f:06d}.png")
        assert _colour(item[T.IMAGE]) == _png_colour("train", f)
        assert _colour(item[T.TARGET_IMAGE]) == _png_colour("train", t)
        assert T.TEXT not in item and T.PAIRED_IMAGE not in item


def test_gallery_and_source_index(css_root: Path) -> None:
    ds = CSS3DDataset(css_root, "train", targets=False)
    gallery = ds.gallery()
    assert len(gallery) == 4
    for j in range(len(gallery)):
        g = gallery[j]
        assert g[T.INDEX] == j and g[T.KEY] == str(_annotations()["train"]["labels"][j]) and g[T.DOMAIN] == "render3d"
        assert int(g[T.LABEL]) == stable_int(g[T.KEY]) and _colour(g[T.IMAGE]) == _png_colour("train", j)
    for i in range(len(ds)):
        q = ds[i]
        assert T.TARGET_IMAGE not in q
        src = gallery[int(q[T.SOURCE_INDEX])]
        assert src[T.PATH] == q[T.PATH] and src[T.KEY] == q[T.KEY]
    # hit rule: images 1 and 3 share label 11, so query 1 (2 -> 3) has two hits in the gallery
    hits = [j for j in range(len(gallery)) if gallery[j][T.KEY] == ds[1][T.TARGET_KEY]]
    assert hits == [1, 3]


def test_test_split_without_labels_keys_are_image_ids(css_root: Path) -> None:
    ds = CSS3DDataset(css_root, "test")
    assert [(ds[i][T.KEY], ds[i][T.TARGET_KEY], int(ds[i][T.SOURCE_INDEX])) for i in range(len(ds))] == [
        ("2", "1", 2),
        ("0", "2", 0),
    ]
    assert [ds.gallery()[j][T.KEY] for j in range(3)] == ["0", "1", "2"]


def test_blobs2d_view_with_paired_render(css_root: Path) -> None:
    objects = _annotations()["train"]["objects_img"]
    ds = CSS3DDataset(css_root, "train", view="blobs2d", paired_view="render3d")
    item = ds[2]  # mod 1: image 0 -> image 2
    assert np.array_equal(np.asarray(item[T.IMAGE]), render_css_blobs(objects[0]))
    assert np.array_equal(np.asarray(item[T.TARGET_IMAGE]), render_css_blobs(objects[2]))
    assert _colour(item[T.PAIRED_IMAGE]) == _png_colour("train", 0)
    assert item[T.DOMAIN] == "blobs2d" and item[T.PATH].endswith(f"{ANNOTATIONS}#train/0")
    g3d = ds.gallery("render3d")
    assert _colour(g3d[3][T.IMAGE]) == _png_colour("train", 3) and g3d[3][T.DOMAIN] == "render3d"
    assert np.array_equal(np.asarray(ds.gallery()[3][T.IMAGE]), render_css_blobs(objects[3]))


def test_blobs2d_needs_no_renders_and_transform_batches(tmp_path: Path) -> None:
    root = _write(tmp_path / "CSS", _annotations(), pngs=False)
    cfg = PreprocessCfg(size=32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    ds = create_dataset("css3d", root=root, split="train", view="blobs2d", transform=build_transform(cfg))
    batch = next(iter(DataLoader(ds, batch_size=3, collate_fn=collate_dicts)))
    assert batch[T.IMAGE].shape == (3, 3, 32, 32) and batch[T.TARGET_IMAGE].shape == (3, 3, 32, 32)
    assert batch[T.SOURCE_INDEX].tolist() == [0, 2, 0] and batch[T.LABEL].dtype == torch.int64
    assert batch[T.MOD_TEXT][2] == "add large green circle"
    with pytest.raises(DataError, match=r"missing folder .*images"):
        CSS3DDataset(root, "train", view="render3d")
    with pytest.raises(DataError, match=r"missing folder .*images"):
        ds.gallery("render3d")


def test_gallery_shares_the_query_transform(css_root: Path) -> None:
    ds = CSS3DDataset(css_root, "test", view="blobs2d")
    gallery = ds.gallery()
    assert attach_transform(gallery, PreprocessCfg(size=16)) is gallery
    assert ds.transform is not None and gallery.transform is ds.transform
    assert gallery[0][T.IMAGE].shape == (3, 16, 16) and ds[0][T.IMAGE].shape == (3, 16, 16)
    assert "css3d/test/blobs2d" in repr(gallery) and len(gallery) == 3
    with pytest.raises(IndexError, match="gallery index 3 out of range"):
        gallery[3]


def test_items_are_pure_functions_of_the_index(css_root: Path) -> None:
    a, b = CSS3DDataset(css_root, "train", view="blobs2d"), CSS3DDataset(css_root, "train", view="blobs2d")
    for i in (2, 0, 1, 2):
        x, y = a[i], b[i]
        assert np.array_equal(np.asarray(x[T.IMAGE]), np.asarray(y[T.IMAGE])) and x[T.MOD_TEXT] == y[T.MOD_TEXT]
    assert a[-1][T.INDEX] == 2


def test_vocabulary_is_sorted_words_of_mods(css_root: Path) -> None:
    assert CSS3DDataset(css_root, "train").vocabulary() == sorted(
        {"make", "red", "square", "blue", "add", "large", "green", "circle"}
    )


# ---- validation ---------------------------------------------------------------------------------
def test_missing_annotations_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        CSS3DDataset(tmp_path, "test")
    assert f"expected {tmp_path / ANNOTATIONS} (TIRG's CSS3D annotations" in str(e.value)
    assert "not found" in str(e.value)


def test_unequal_mod_lists_name_the_mod(tmp_path: Path) -> None:
    data = _annotations()
    data["train"]["mods"][1]["to"] = [2, 3]
    root = _write(tmp_path / "CSS", data)
    with pytest.raises(DataError, match=r"split 'train' mod 1: 'from' has 1 image ids but 'to' has 2"):
        CSS3DDataset(root, "train")
    CSS3DDataset(root, "test")  # the other split is still fine


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d["train"]["mods"][0].update({"to": [1, 9]}), r"mod 0: image id pair \(2, 9\)"),
        (lambda d: d["train"]["mods"][1].pop("to_str"), r"mod 1: expected a dict with 'from', 'to' and 'to_str'"),
        (lambda d: d["train"].update({"labels": [1, 2]}), r"'labels' has 2 entries for 4 images"),
        (lambda d: d["train"].pop("mods"), r"split 'train' has no 'mods'"),
        (lambda d: d.pop("train"), r"has no split 'train'"),
        (lambda d: d["train"]["objects_img"][3][0].update({"shape": "star"}), r"objects_img\[3\]\[0\]: 'shape'"),
    ],
)
def test_malformed_annotations(tmp_path: Path, edit: Any, pattern: str) -> None:
    data = _annotations()
    edit(data)
    root = _write(tmp_path / "CSS", data)
    with pytest.raises(DataError, match=pattern):
        CSS3DDataset(root, "train", view="blobs2d")


def test_bad_arguments(css_root: Path) -> None:
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        CSS3DDataset(css_root, "val")
    with pytest.raises(ConfigError, match="view must be one of"):
        CSS3DDataset(css_root, "train", view="text")
    with pytest.raises(ConfigError, match="paired_view"):
        CSS3DDataset(css_root, "train", view="render3d", paired_view="render3d")
    (css_root / ANNOTATIONS).write_text("not a numpy file")
    with pytest.raises(DataError, match="cannot read"):
        CSS3DDataset(css_root, "train")
