"""``mit_states`` loader on a tiny ``images/<adj> <noun>/*.jpg`` fixture with two of TIRG's 49 test nouns."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace import types as T
from semspace.data import create_dataset
from semspace.data.datasets.mit_states import TEST_NOUNS, MITStatesDataset
from semspace.errors import ConfigError, DataError
from semspace.utils.hashing import stable_int

FOLDERS = {  # folder -> image files; "clock" and "tomato" are TIRG test nouns
    "ripe tomato": ["b.jpg", "a.jpg"],
    "rotten tomato": ["c.jpg"],
    "sliced tomato": ["d.jpg"],
    "old clock": ["e.jpg"],
    "new clock": ["f.jpg"],
    "ancient building": ["g.jpg"],
    "modern building": ["h.jpg", "i.jpg"],
    "wet dog": ["j.jpg"],
    "dry dog": ["k.jpg"],
    "cut apple": ["z.jpg"],  # a single adjective: no queries
    "adj tomato": ["x.jpg"],  # unannotated: skipped
    "misc": ["y.jpg"],  # no space: skipped
}


def _colour(folder: str, name: str) -> tuple[int, int, int]:
    k = sorted(FOLDERS).index(folder) * 3 + FOLDERS[folder].index(name)
    return (10 + 6 * k, 240 - 6 * k, 90)


@pytest.fixture
def mit_root(tmp_path: Path) -> Path:
    root = tmp_path / "mitstates"
    for folder, files in FOLDERS.items():
        (root / "images" / folder).mkdir(parents=True)
        for name in files:
            Image.new("RGB", (6, 6), _colour(folder, name)).save(root / "images" / folder / name, quality=95)
    (root / "images" / "ripe tomato" / "notes.txt").write_text("not an image")
    return root


def _expected(split: str) -> tuple[list[tuple[str, str, str]], list[tuple[int, str]]]:
    """Naive: the split's images (folder, adj, noun ... in sorted order) and its (source id, target adj) queries."""
    images = []
    for folder in sorted(FOLDERS):
        words = folder.split()
        if len(words) != 2 or words[0] == "adj" or (words[1] in TEST_NOUNS) != (split == "test"):
            continue
        images += [(folder, name, words[1]) for name in sorted(FOLDERS[folder])]
    adjs: dict[str, list[str]] = {}
    for folder, _, noun in images:
        if folder.split()[0] not in adjs.setdefault(noun, []):
            adjs[noun].append(folder.split()[0])
    queries = [(i, t) for i, (f, _, n) in enumerate(images) for t in adjs[n] if t != f.split()[0]]
    return images, queries


def _is_colour(img: Image.Image, rgb: tuple[int, int, int]) -> bool:
    return bool(np.abs(np.asarray(img)[3, 3].astype(int) - np.array(rgb)).max() <= 6)  # JPEG tolerance


def test_tirg_test_nouns() -> None:
    assert len(TEST_NOUNS) == 49 and {"armor", "tomato", "wool", "clock"} <= TEST_NOUNS and "dog" not in TEST_NOUNS


@pytest.mark.parametrize("split", ["test", "train"])
def test_queries_are_every_other_adjective_of_the_noun(mit_root: Path, split: str) -> None:
    images, queries = _expected(split)
    ds = MITStatesDataset(mit_root, split)
    assert len(ds) == len(queries) == {"test": 10, "train": 5}[split]
    for idx, (src, adj) in enumerate(queries):
        folder, name, noun = images[src]
        item = ds[idx]
        assert item[T.INDEX] == idx and int(item[T.SOURCE_INDEX]) == src and item[T.DOMAIN] == "photo"
        assert item[T.MOD_TEXT] == adj and item[T.KEY] == item[T.TEXT] == folder
        assert item[T.TARGET_KEY] == item[T.TARGET_TEXT] == f"{adj} {noun}"
        assert int(item[T.LABEL]) == stable_int(folder) and int(item[T.TARGET_LABEL]) == stable_int(f"{adj} {noun}")
        assert item[T.LABEL].dtype == torch.int64
        assert item[T.PATH] == str(mit_root / "images" / folder / name)
        assert _is_colour(item[T.IMAGE], _colour(folder, name))
        target_folder = f"{adj} {noun}"
        assert any(_is_colour(item[T.TARGET_IMAGE], _colour(target_folder, n)) for n in FOLDERS[target_folder])


def test_held_out_nouns_split_and_first_items(mit_root: Path) -> None:
    test = create_dataset("mit_states", root=mit_root, split="test")
    train = MITStatesDataset(mit_root, "train")
    assert {k.split()[1] for k in test.images_of} == {"clock", "tomato"}
    assert {k.split()[1] for k in train.images_of} == {"building", "dog", "apple"}
    assert [(test[i][T.KEY], test[i][T.MOD_TEXT]) for i in range(4)] == [
        ("new clock", "old"),
        ("old clock", "new"),
        ("ripe tomato", "rotten"),
        ("ripe tomato", "sliced"),
    ]
    assert test.vocabulary() == ["clock", "new", "old", "ripe", "rotten", "sliced", "tomato"]


def test_gallery_source_index_and_hits(mit_root: Path) -> None:
    images, _ = _expected("test")
    ds = MITStatesDataset(mit_root, "test", targets=False)
    gallery = ds.gallery()
    assert len(gallery) == len(images) == 6
    for j, (folder, name, _) in enumerate(images):
        g = gallery[j]
        assert g[T.INDEX] == j and g[T.KEY] == g[T.TEXT] == folder and int(g[T.LABEL]) == stable_int(folder)
        assert g[T.PATH] == str(mit_root / "images" / folder / name) and _is_colour(g[T.IMAGE], _colour(folder, name))
    for i in range(len(ds)):
        q = ds[i]
        assert T.TARGET_IMAGE not in q and gallery[int(q[T.SOURCE_INDEX])][T.PATH] == q[T.PATH]
    hits = [j for j in range(len(gallery)) if gallery[j][T.KEY] == ds[2][T.TARGET_KEY]]  # ripe tomato -> rotten
    assert hits == [4]
    hits = [j for j in range(len(gallery)) if gallery[j][T.KEY] == ds[6][T.TARGET_KEY]]  # rotten -> ripe: two images
    assert ds[6][T.TARGET_KEY] == "ripe tomato" and hits == [2, 3]


def test_target_image_is_pure_in_seed_and_index(mit_root: Path) -> None:
    def target(seed: int) -> str:
        item = MITStatesDataset(mit_root, "test", seed=seed)[6]  # rotten tomato -> ripe: a.jpg or b.jpg
        return next(n for n in ("a.jpg", "b.jpg") if _is_colour(item[T.TARGET_IMAGE], _colour("ripe tomato", n)))

    assert [target(s) for s in range(6)] == [target(s) for s in range(6)]
    assert {target(s) for s in range(20)} == {"a.jpg", "b.jpg"}


def test_single_adjective_noun_warns(mit_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="semspace.data.datasets.mit_states"):
        MITStatesDataset(mit_root, "train")
    assert "['apple']" in caplog.text


# ---- validation ---------------------------------------------------------------------------------
def test_missing_images_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        MITStatesDataset(tmp_path, "test")
    assert str(tmp_path / "images") in str(e.value) and "'images/<adjective> <noun>/*.jpg'" in str(e.value)


def test_malformed_folder_name(mit_root: Path) -> None:
    (mit_root / "images" / "very old clock").mkdir()
    with pytest.raises(DataError, match=r"very old clock has 3 words; expected '<adjective> <noun>'"):
        MITStatesDataset(mit_root, "test")


def test_split_without_images(tmp_path: Path) -> None:
    (tmp_path / "images" / "wet dog").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "images" / "wet dog" / "1.jpg")
    with pytest.raises(DataError, match="no images of the 49 test nouns"):
        MITStatesDataset(tmp_path, "test")
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        MITStatesDataset(tmp_path, "val")
