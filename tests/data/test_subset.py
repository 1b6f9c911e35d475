"""Folds and subsets of any dataset, taken by the registry from the spec (``fold=k/K``, ``fold_part``,
``fold_seed``, ``n``, ``n_seed``: ``data.subset``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semspace.data import DATASETS, create_dataset
from semspace.data.spec import parse_data_spec
from semspace.errors import ConfigError
from semspace.types import FEATURES, INDEX


def _features(tmp_path: Path, n: int = 30, classes: int = 3) -> Path:
    """A feature file whose rows carry their own row number (feature 0), labels 0..classes-1 in turn."""
    rows = np.arange(n, dtype=np.float32)
    img = np.stack([rows, rows * 2], axis=1)  # (n, 2): column 0 is the row number
    np.savez(tmp_path / "f.npz", train_img=img, train_txt=img[:, :1] + 1, train_labels=np.arange(n) % classes)
    return tmp_path / "f.npz"


def _rows(ds) -> list[int]:
    return [int(ds[i][FEATURES]["img"][0]) for i in range(len(ds))]


def test_folds_partition_the_split_stratified_and_seeded(tmp_path: Path) -> None:
    path = _features(tmp_path)
    folds = [create_dataset("features", path=path, fold=f"{k}/5") for k in range(1, 6)]
    rest = create_dataset("features", path=path, fold="2/5", fold_part="train")
    seen = sorted(r for f in folds for r in _rows(f))
    assert seen == list(range(30))  # the 5 folds cover the split, each row once
    assert sorted(_rows(folds[1]) + _rows(rest)) == list(range(30)) and not set(_rows(folds[1])) & set(_rows(rest))
    for f in folds:  # stratified: 30 rows of 3 classes in 5 folds -> 2 of each class per fold
        assert len(f) == 6 and np.bincount(f.labels, minlength=3).tolist() == [2, 2, 2]
        assert f.labels.tolist() == [int(f[i]["label"]) for i in range(len(f))]  # labels follow the kept rows
        assert _rows(f) == sorted(_rows(f))  # the loader's order is kept
    assert [f[i][INDEX] for f in folds[:1] for i in range(6)] == list(range(6))
    again = create_dataset("features", path=path, fold="1/5")
    other = create_dataset("features", path=path, fold="1/5", fold_seed=1)
    assert _rows(again) == _rows(folds[0]) and _rows(other) != _rows(folds[0])
    assert folds[0].feature_dim("img") == 2 and folds[0].features("img").shape == (6, 2)  # the loader's API stays


def test_n_first_items_or_seeded_subset(tmp_path: Path) -> None:
    path = _features(tmp_path)
    assert _rows(create_dataset("features", path=path, n=4)) == [0, 1, 2, 3]
    drawn = _rows(create_dataset("features", path=path, n=4, n_seed=3))
    assert len(set(drawn)) == 4 and drawn == sorted(drawn) and drawn != [0, 1, 2, 3]
    assert drawn == _rows(create_dataset("features", path=path, n=4, n_seed=3))
    fold_then_n = create_dataset("features", path=path, fold="1/5", fold_part="train", n=5)
    assert len(fold_then_n) == 5 and set(_rows(fold_then_n)) <= set(
        _rows(create_dataset("features", path=path, fold="1/5", fold_part="train"))
    )
    # a spec string reaches the same place
    spec = parse_data_spec(f"features:path={path},fold=3/5,n=2")
    assert len(create_dataset(spec.name, **spec.args)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"fold": "0/5"}, r"folds are numbered 1..5"),
        ({"fold": "6/5"}, r"folds are numbered 1..5"),
        ({"fold": "1/1"}, r"K = 1 folds; expected K >= 2"),
        ({"fold": "2"}, r"expected 'k/K'"),
        ({"fold": "1/5", "fold_part": "val"}, r"fold_part='val'; expected 'test'"),
        ({"fold_part": "train"}, r"given without fold=k/K"),
        ({"n": 0}, r"n=0; expected an integer >= 1"),
        ({"n": 31}, r"n=31 but only 30 items"),
        ({"n_seed": 1}, r"n_seed given without n"),
        ({"fold": "1/40"}, r"needs at least 40 items"),
    ],
)
def test_bad_subset_arguments_are_named(tmp_path: Path, args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_dataset("features", path=_features(tmp_path), **args)


def test_world_datasets_keep_their_own_n_and_take_folds() -> None:
    assert len(create_dataset("xmodal_pairs", split="train", pairs_per_class=2)) == 20
    fold = create_dataset("xmodal_pairs", split="train", pairs_per_class=2, fold="1/2")
    assert len(fold) == 10 and sorted(fold.labels.tolist()) == list(range(10)) and len(fold.texts) == 10
    with pytest.raises(ConfigError, match="takes n itself"):
        create_dataset("world_scenes", split="test", n=10, n_seed=0)
    DATASETS.check_args("features", {"path": "x", "fold": "1/5", "fold_part": "train", "n": 3})  # a config's check
    with pytest.raises(ConfigError, match="unknown argument"):
        DATASETS.check_args("features", {"path": "x", "folds": "1/5"})
