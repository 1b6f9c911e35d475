"""``fashion200k`` loader on a tiny fixture in exactly the documented layout (labels files + JPEGs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semspace import types as T
from semspace.data import create_dataset
from semspace.data.datasets.fashion200k import CATEGORIES, Fashion200kDataset, clean_caption, different_words
from semspace.data.tokenizer import tokenize
from semspace.errors import ConfigError, DataError
from semspace.utils.hashing import stable_int

# (category, image path, caption as written in the labels file); image order = categories sorted, then lines
TRAIN = [
    ("dress", "women/dresses/maxi/1/1_0.jpeg", "blue maxi dress"),
    ("dress", "women/dresses/maxi/2/2_0.jpeg", "red  maxi dress"),  # two spaces: collapsed
    ("dress", "women/dresses/maxi/3/3_1.jpeg", "red maxi dress"),
    ("dress", "women/dresses/gown/4/4_0.jpeg", "sequin gown"),
    ("jacket", "women/jackets/denim/5/5_0.jpeg", "blue denim jacket."),
    ("jacket", "women/jackets/denim/6/6_0.jpeg", "black denim jacket."),
    ("pants", "women/pants/leather/7/7_0.jpeg", "black leather pants"),
    ("pants", "women/pants/leather/9/9_0.jpeg", "black leather trousers"),  # differs in the last word
    ("top", "women/tops/tee/8/8_0.jpeg", "white tee"),
]
TEST = [
    ("dress", "women/dresses/midi/11/11_0.jpeg", "green midi dress"),
    ("dress", "women/dresses/midi/12/12_0.jpeg", "pink midi dress"),
    ("jacket", "women/jackets/biker/13/13_0.jpeg", "leather biker jacket"),
    ("jacket", "women/jackets/biker/14/14_0.jpeg", "suede biker jacket"),
    ("pants", "women/pants/wide/15/15_0.jpeg", "wide leg pants"),
    ("skirt", "women/skirts/pleated/16/16_0.jpeg", "pleated skirt"),
    ("top", "women/tops/silk/17/17_0.jpeg", "silk top"),
]
QUERIES = [(0, 1), (3, 2)]  # test_queries.txt, as test image ids


def _colour(split: str, i: int) -> tuple[int, int, int]:
    return (20 + 25 * i, 60 if split == "train" else 180, 120)


def _write(root: Path, queries: bool = True) -> Path:
    (root / "labels").mkdir(parents=True)
    for split, rows in (("train", TRAIN), ("test", TEST)):
        for cat in CATEGORIES:
            lines = [f"{p}\t0.{k + 3}\t{c}\n" for k, (c2, p, c) in enumerate(rows) if c2 == cat]
            (root / "labels" / f"{cat}_{split}_detect_all.txt").write_text("".join(lines) + "\n")
        for i, (_, p, _) in enumerate(rows):
            (root / p).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (6, 6), _colour(split, i)).save(root / p, format="JPEG", quality=95)
    if queries:
        (root / "test_queries.txt").write_text("".join(f"{TEST[a][1]} {TEST[b][1]}\n" for a, b in QUERIES))
    return root


@pytest.fixture
def f200k(tmp_path: Path) -> Path:
    return _write(tmp_path / "fashion200k")


def _is_colour(img: Image.Image, rgb: tuple[int, int, int]) -> bool:
    return bool(np.abs(np.asarray(img)[3, 3].astype(int) - np.array(rgb)).max() <= 6)  # JPEG tolerance


def _one_word_apart(a: str, b: str) -> bool:
    """Naive: removing one word from each gives the same caption."""
    wa, wb = a.split(), b.split()
    return a != b and any(wa[:i] + wa[i + 1 :] == wb[:j] + wb[j + 1 :] for i in range(len(wa)) for j in range(len(wb)))


def test_helpers_follow_tirg() -> None:
    assert clean_caption("  a.line & co*  dress? ") == "adotmarkline andmark costarmark dressquestionmark"
    assert different_words("blue maxi dress", "red maxi dress") == ("blue", "red")
    assert different_words("maxi blue dress", "dress maxi blue") == ("dress", "blue")  # nothing differs: last words


def test_training_pairs_are_captions_one_word_apart(f200k: Path) -> None:
    ds = Fashion200kDataset(f200k, "train")
    captions = [" ".join(clean_caption(c).split()) for _, _, c in TRAIN]
    modifiable = [i for i, c in enumerate(captions) if any(_one_word_apart(c, d) for d in captions)]
    assert modifiable == [0, 1, 2, 4, 5, 6, 7] and len(ds) == len(modifiable)
    for idx, src in enumerate(modifiable):
        item = ds[idx]
        assert int(item[T.SOURCE_INDEX]) == src and item[T.INDEX] == idx and item[T.PATH] == str(f200k / TRAIN[src][1])
        assert item[T.KEY] == item[T.TEXT] == captions[src] and item[T.TARGET_KEY] == item[T.TARGET_TEXT]
        assert _one_word_apart(item[T.KEY], item[T.TARGET_KEY])
        assert int(item[T.LABEL]) == stable_int(item[T.KEY])
        assert int(item[T.TARGET_LABEL]) == stable_int(item[T.TARGET_KEY])
        assert item[T.LABEL].dtype == torch.int64 and item[T.DOMAIN] == "photo"
        assert _is_colour(item[T.IMAGE], _colour("train", src))
        target_ids = [j for j, c in enumerate(captions) if c == item[T.TARGET_KEY]]
        assert any(_is_colour(item[T.TARGET_IMAGE], _colour("train", j)) for j in target_ids)
    assert ds[0][T.MOD_TEXT] == "replace blue with red" and ds[1][T.MOD_TEXT] == "replace red with blue"
    assert ds[3][T.MOD_TEXT] == "replace blue with black" and ds[3][T.TARGET_KEY] == "black denim jacketdotmark"
    assert ds[5][T.MOD_TEXT] == "replace pants with trousers" and ds[6][T.TARGET_KEY] == "black leather pants"


def test_training_targets_are_pure_in_seed_and_index(f200k: Path) -> None:
    def target_image(seed: int) -> int:
        item = Fashion200kDataset(f200k, "train", seed=seed)[0]  # "blue maxi dress" -> image 1 or 2
        return next(j for j in (1, 2) if _is_colour(item[T.TARGET_IMAGE], _colour("train", j)))

    assert [target_image(s) for s in range(8)] == [target_image(s) for s in range(8)]
    assert {target_image(s) for s in range(20)} == {1, 2}  # both images of the target caption get drawn


def test_test_queries_from_file(f200k: Path) -> None:
    ds = create_dataset("fashion200k", root=f200k, split="test")
    assert len(ds) == 2
    for i, (a, b) in enumerate(QUERIES):
        item = ds[i]
        assert int(item[T.SOURCE_INDEX]) == a and item[T.KEY] == TEST[a][2] and item[T.TARGET_KEY] == TEST[b][2]
        assert _is_colour(item[T.TARGET_IMAGE], _colour("test", b))
    assert ds[0][T.MOD_TEXT] == "replace green with pink" and ds[1][T.MOD_TEXT] == "replace suede with leather"
    gallery = ds.gallery()
    assert len(gallery) == len(TEST) and [gallery[j][T.KEY] for j in range(len(TEST))] == [c for _, _, c in TEST]
    for i in range(len(ds)):
        q = ds[i]
        assert gallery[int(q[T.SOURCE_INDEX])][T.PATH] == q[T.PATH]
        assert [j for j in range(len(gallery)) if gallery[j][T.KEY] == q[T.TARGET_KEY]] == [QUERIES[i][1]]
    g = gallery[4]
    assert g[T.INDEX] == 4 and g[T.TEXT] == "wide leg pants" and int(g[T.LABEL]) == stable_int("wide leg pants")


def test_generated_test_queries_are_fixed(tmp_path: Path) -> None:
    root = _write(tmp_path / "f", queries=False)
    a = Fashion200kDataset(root, "test", targets=False, seed=1)
    b = Fashion200kDataset(root, "test", targets=False, seed=2)  # the seed only affects training
    rows = [(int(a[i][T.SOURCE_INDEX]), a[i][T.TARGET_KEY], a[i][T.MOD_TEXT]) for i in range(len(a))]
    assert rows == [(int(b[i][T.SOURCE_INDEX]), b[i][T.TARGET_KEY], b[i][T.MOD_TEXT]) for i in range(len(b))]
    assert rows == [
        (0, "pink midi dress", "replace green with pink"),
        (1, "green midi dress", "replace pink with green"),
        (2, "suede biker jacket", "replace leather with suede"),
        (3, "leather biker jacket", "replace suede with leather"),
    ]
    assert T.TARGET_IMAGE not in a[0]


def test_vocabulary(f200k: Path) -> None:
    words = {w for _, _, c in TRAIN for w in tokenize(clean_caption(c))} | {"replace", "with"}
    assert Fashion200kDataset(f200k, "train").vocabulary() == sorted(words)
    assert "jacketdotmark" in words


# ---- validation ---------------------------------------------------------------------------------
def test_missing_labels(tmp_path: Path, f200k: Path) -> None:
    with pytest.raises(DataError, match=r"missing folder .*labels"):
        Fashion200kDataset(tmp_path / "nowhere", "train")
    (f200k / "labels" / "skirt_test_detect_all.txt").unlink()
    with pytest.raises(DataError) as e:
        Fashion200kDataset(f200k, "test")
    assert "labels/skirt_test_detect_all.txt: the Fashion200k 'skirt' test labels" in str(e.value)
    assert "dress_test" not in str(e.value)
    Fashion200kDataset(f200k, "train")  # the train files are all there


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("women/x.jpeg\t0.5\n", r"jacket_train_detect_all.txt line 3: expected 3 tab-separated fields"),
        ("women/x.jpeg\thigh\tred coat\n", r"jacket_train_detect_all.txt line 3: detection score 'high'"),
        ("women/x.jpeg\t0.5\t \n", r"line 3: empty image path or caption"),
    ],
)
def test_malformed_label_line_names_file_and_line(f200k: Path, line: str, pattern: str) -> None:
    path = f200k / "labels" / "jacket_train_detect_all.txt"
    path.write_text(path.read_text().rstrip("\n") + "\n" + line)
    with pytest.raises(DataError, match=pattern):
        Fashion200kDataset(f200k, "train")


def test_bad_test_queries(f200k: Path) -> None:
    qfile = f200k / "test_queries.txt"
    qfile.write_text(f"{TEST[0][1]} {TEST[1][1]}\n{TEST[0][1]} women/unknown.jpeg\n")
    with pytest.raises(DataError, match=r"test_queries.txt line 2: image 'women/unknown.jpeg' is not in the test"):
        Fashion200kDataset(f200k, "test")
    qfile.write_text(f"{TEST[0][1]}\n")
    with pytest.raises(DataError, match=r"test_queries.txt line 1: expected '<source path> <target path>'"):
        Fashion200kDataset(f200k, "test")


def test_missing_image_names_labels_line(f200k: Path) -> None:
    (f200k / TRAIN[4][1]).unlink()
    ds = Fashion200kDataset(f200k, "train", targets=False)
    with pytest.raises(DataError, match=r"5_0.jpeg: image file not found \(listed in labels/jacket_train_detect_all"):
        ds[3]
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        Fashion200kDataset(f200k, "val")
