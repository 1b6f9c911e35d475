"""The image-text benchmark loaders on fixtures written in exactly their published layouts, and the ``features``
loader's fixes for those layouts (folders, lists of files, Wikipedia keys, unlabelled files, per-modality checks)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.errors import ConfigError, DataError
from semspace.types import FEATURES, KEY, LABEL

CATS = ["art", "biology", "geography", "history", "literature", "media", "music", "royalty", "sport", "warfare"]


def _wikipedia(root: Path, n_tr: int = 6, n_te: int = 4, list_rows: int | None = None) -> Path:
    """raw_features.mat (I_tr n x 128, T_tr n x 10, I_te, T_te) + the two tab-separated lists + categories."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {"I_tr": rng.random((n_tr, 128)), "T_tr": rng.random((n_tr, 10)),
              "I_te": rng.random((n_te, 128)), "T_te": rng.random((n_te, 10))}  # fmt: skip
    scipy.io.savemat(root / "raw_features.mat", arrays)
    for name, n in (("trainset_txt_img_cat.list", n_tr), ("testset_txt_img_cat.list", n_te)):
        rows = [f"{i:032x}\t{i + 100:032x}\t{1 + i % 10}" for i in range(list_rows or n)]
        (root / name).write_text("\n".join(rows) + "\n")
    (root / "categories.list").write_text("\n".join(CATS) + "\n")
    return root


def _pascal(root: Path, n_tr: int = 5, n_te: int = 3, skip: tuple[str, ...] = ()) -> Path:
    """DSCMR's folder: one .mat per array, its only key named like the file."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_img": rng.random((n_tr, 4096), dtype=np.float32),
        "test_img": rng.random((n_te, 4096), dtype=np.float32),
        "train_txt": rng.random((n_tr, 300), dtype=np.float32),
        "test_txt": rng.random((n_te, 300), dtype=np.float32),
        "train_img_lab": rng.integers(0, 20, (n_tr, 1)),
        "test_img_lab": rng.integers(0, 20, (n_te, 1)),
    }
    for k, v in arrays.items():
        if k not in skip:
            scipy.io.savemat(root / f"{k}.mat", {k: v})
    return root


def test_wikipedia_folder_in_its_distributed_layout(tmp_path: Path) -> None:
    root = _wikipedia(tmp_path / "wiki")
    ds = create_dataset("wikipedia_xmodal", root=root, split="train")
    assert len(ds) == 6 and ds.feature_dim("img") == 128 and ds.feature_dim("txt") == 10
    assert ds.labels.tolist() == [0, 1, 2, 3, 4, 5] and ds[2][KEY] == "geography"
    batch = collate_dicts([ds[i] for i in range(3)])
    assert batch[FEATURES]["img"].shape == (3, 128) and batch[FEATURES]["txt"].shape == (3, 10)
    assert len(create_dataset("wikipedia_xmodal", root=root, split="test")) == 4
    # the generic loader reads the same folder (and the .mat file itself), no conversion
    assert create_dataset("features", path=root, split="train").labels.tolist() == ds.labels.tolist()
    assert len(create_dataset("features", path=root / "raw_features.mat", split="test", modality="txt")) == 4


def test_wikipedia_list_with_other_line_count_is_named(tmp_path: Path) -> None:
    root = _wikipedia(tmp_path / "wiki", list_rows=5)
    with pytest.raises(DataError, match=r"trainset_txt_img_cat\.list: 5 lines but its feature arrays have 6 rows"):
        create_dataset("wikipedia_xmodal", root=root, split="train")
    (root / "trainset_txt_img_cat.list").write_text("a\tb\t11\n" * 6)
    with pytest.raises(DataError, match=r"line 1: 'a\\tb\\t11'; expected '<text_id> <image_id> <category 1..10>'"):
        create_dataset("wikipedia_xmodal", root=root, split="train")
    (root / "trainset_txt_img_cat.list").unlink()
    with pytest.raises(DataError, match=r"missing file .*trainset_txt_img_cat\.list"):
        create_dataset("wikipedia_xmodal", root=root, split="train")


def test_pascal_one_array_per_file_folder(tmp_path: Path) -> None:
    root = _pascal(tmp_path / "pascal")
    ds = create_dataset("pascal_sentences", root=root, split="train")
    assert len(ds) == 5 and ds.feature_dim("img") == 4096 and ds.feature_dim("txt") == 300
    assert ds.num_classes == 20
    assert len(create_dataset("features", path=root, split="test", modality="img")) == 3  # the folder is valid


def test_pascal_missing_file_named_and_the_complete_split_still_loads(tmp_path: Path) -> None:
    root = _pascal(tmp_path / "pascal", skip=("test_txt",))
    with pytest.raises(DataError, match=r"missing file .*test_txt\.mat"):
        create_dataset("pascal_sentences", root=root, split="test")
    assert len(create_dataset("pascal_sentences", root=root, split="train")) == 5


def test_pascal_file_with_another_key_and_bad_labels(tmp_path: Path) -> None:
    root = _pascal(tmp_path / "pascal")
    scipy.io.savemat(root / "train_txt.mat", {"txt": np.zeros((5, 300))})
    with pytest.raises(DataError, match=r"train_txt\.mat: holds keys \['txt'\]; .* named like the file"):
        create_dataset("pascal_sentences", root=root, split="train")
    root = _pascal(tmp_path / "p2")
    scipy.io.savemat(root / "train_img_lab.mat", {"train_img_lab": np.full((5, 1), 20)})
    with pytest.raises(DataError, match=r"train_img_lab\.mat: label array 'train_img_lab' holds values 20\.\.20"):
        create_dataset("pascal_sentences", root=root, split="train")


def _nus(root: Path) -> Path:
    rng = np.random.default_rng(2)
    names = [f"{i:04d}_{1000 + i}" for i in range(12)]
    (root / "ImageList").mkdir(parents=True)
    (root / "ImageList" / "Imagelist.txt").write_text("".join(f"C:\\ImageData\\Flickr\\x\\{n}.jpg\n" for n in names))
    (root / "NUS_WID_Tags").mkdir()
    tags = rng.integers(0, 2, (12, 1000))
    (root / "NUS_WID_Tags" / "AllTags1k.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in tags))
    (root / "Low_Level_Features").mkdir()
    feats = rng.integers(0, 9, (12, 500))
    (root / "Low_Level_Features" / "BoW_int.dat").write_text("".join(" ".join(map(str, r)) + " \n" for r in feats))
    ids = [f"{names[i]}\t{['sky', 'animal', 'water'][i % 3]}\t{'train' if i < 8 else 'test'}" for i in range(1, 12)]
    (root / "nuswide10k_ids.txt").write_text("\n".join(ids) + "\n")
    return root


def test_nus_wide_10k_from_id_list_and_nus_wide_files(tmp_path: Path) -> None:
    root = _nus(tmp_path / "nus")
    ds = create_dataset("nus_wide_10k", root=root, split="train")
    assert len(ds) == 7 and ds.feature_dim("txt") == 1000 and ds.feature_dim("img") == 500
    assert ds.classes == ["animal", "sky", "water"] and ds[0][LABEL] == 0  # image 1: animal
    assert len(create_dataset("nus_wide_10k", root=root, split="test")) == 4
    (root / "nuswide10k_ids.txt").write_text("9999_1\tsky\ttrain\n")
    with pytest.raises(DataError, match=r"image id '9999_1' is not in .*Imagelist\.txt"):
        create_dataset("nus_wide_10k", root=root, split="train")


def test_features_loader_fixes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # a list of paths is accepted (merged); a bad list is refused with a message, not a TypeError
    root = _pascal(tmp_path / "pascal")
    files = [str(root / f"train_{k}.mat") for k in ("img", "txt", "img_lab")]
    assert len(create_dataset("features", path=files, split="train")) == 5
    with pytest.raises(DataError, match="expected a list of paths, got 3"):
        create_dataset("features", path=[3], split="train")
    # no label array: loads with -1 and a warning naming the file and the arrays looked for
    np.savez(tmp_path / "u.npz", train_img=np.zeros((3, 2), np.float32))
    with caplog.at_level(logging.WARNING):
        create_dataset("features", path=tmp_path / "u.npz", split="train")
    assert any("u.npz" in r.message and "train_labels" in r.message for r in caplog.records)
    # one modality chosen: another modality's bad rows are not checked
    np.savez(tmp_path / "m.npz", train_img=np.zeros((3, 2)), train_txt=np.full((3, 2), np.nan))
    assert len(create_dataset("features", path=tmp_path / "m.npz", split="train", modality="img")) == 3
    # an error names the file that holds the array, not its folder
    scipy.io.savemat(root / "train_txt.mat", {"train_txt": np.zeros((4, 300))})
    with pytest.raises(DataError, match=r"feature file .*train_txt\.mat: array 'train_txt' has 4 rows"):
        create_dataset("features", path=root, split="train")
    # an unknown split says which layouts are accepted
    with pytest.raises(ConfigError, match=r"unknown split 'val'.*accepted layouts"):
        create_dataset("features", path=tmp_path / "u.npz", split="val")


def test_pascal_one_modality_needs_only_its_file_and_the_labels(tmp_path: Path) -> None:
    root = _pascal(tmp_path / "pascal", skip=("train_img",))
    txt = create_dataset("pascal_sentences", root=root, split="train", modality="txt")
    assert len(txt) == 5 and txt.feature_dim("txt") == 300 and txt.labels.min() >= 0
    with pytest.raises(DataError, match=r"missing file .*train_img\.mat"):
        create_dataset("pascal_sentences", root=root, split="train")
