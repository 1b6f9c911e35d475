"""``features`` dataset: DSCMR Pascal layout (.npz and .mat), generic layout, and shape errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse
import torch

from semspace.data.collate import collate_dicts
from semspace.data.datasets.features import FeatureDataset
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, FEATURES, INDEX, LABEL


def _pascal_like(n_train: int = 8, n_test: int = 4) -> dict[str, np.ndarray]:
    """DSCMR Pascal Sentences layout at a tiny scale (4096 -> 16, 300 -> 6 dims)."""
    rng = np.random.default_rng(0)
    return {
        "train_img": rng.normal(size=(n_train, 16)).astype(np.float32),
        "test_img": rng.normal(size=(n_test, 16)).astype(np.float32),
        "train_txt": rng.normal(size=(n_train, 6)).astype(np.float32),
        "test_txt": rng.normal(size=(n_test, 6)).astype(np.float32),
        "train_img_lab": rng.integers(0, 20, size=(n_train, 1)).astype(np.int64),
        "test_img_lab": rng.integers(0, 20, size=(n_test, 1)).astype(np.int64),
    }


@pytest.fixture(params=["npz", "mat"])
def pascal_file(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = _pascal_like()
    path = tmp_path / f"pascal.{request.param}"
    if request.param == "npz":
        np.savez(path, **arrays)
    else:
        scipy.io.savemat(path, arrays)
    return path, arrays


def test_pascal_layout_per_modality(pascal_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, arrays = pascal_file
    ds = FeatureDataset(path, split="train", modality="txt")
    assert ds.modalities() == ("img", "txt") and ds.get_available_splits() == ("test", "train")
    assert ds.feature_dim("img") == 16 and ds.feature_dim("txt") == 6 and len(ds) == 8
    for i in range(len(ds)):  # text rows share the image labels (DSCMR)
        item = ds[i]
        assert item[FEATURES].dtype == torch.float32 and item[FEATURES].shape == (6,)
        np.testing.assert_allclose(item[FEATURES].numpy(), arrays["train_txt"][i])
        assert item[LABEL] == int(arrays["train_img_lab"][i, 0]) and item[DOMAIN] == "txt" and item[INDEX] == i
    test_img = FeatureDataset(path, split="test", modality="img")
    np.testing.assert_allclose(test_img.features("img"), arrays["test_img"])
    assert test_img.labels.tolist() == arrays["test_img_lab"][:, 0].tolist()


def test_paired_items_when_no_modality(pascal_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, arrays = pascal_file
    ds = DATASETS.create("features", path=path, split="train")
    item = ds[3]
    assert set(item[FEATURES]) == {"img", "txt"} and item[DOMAIN] == "img+txt"
    batch = collate_dicts([ds[i] for i in range(4)])
    assert batch[FEATURES]["img"].shape == (4, 16) and batch[FEATURES]["txt"].shape == (4, 6)
    np.testing.assert_allclose(batch[FEATURES]["txt"].numpy(), arrays["train_txt"][:4])
    assert batch[LABEL].tolist() == arrays["train_img_lab"][:4, 0].tolist()


def test_generic_layout_with_shared_and_own_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "g.npz",
        val_photo=rng.normal(size=(5, 3)),  # float64 -> float32
        val_sketch=rng.integers(0, 4, size=(5, 2)),  # integer counts are accepted
        val_labels=np.arange(5),  # shared
        val_sketch_lab=np.arange(5)[::-1].copy(),  # own labels win for that modality
        meta=np.zeros(2),  # not <split>_<name>: ignored
        val_names=np.array(["a", "b"]),  # non-numeric: ignored
    )
    photo = FeatureDataset(tmp_path / "g.npz", split="val", modality="photo")
    sketch = FeatureDataset(tmp_path / "g.npz", split="val", modality="sketch")
    assert photo.modalities() == ("photo", "sketch") and photo.get_available_splits() == ("val",)
    assert photo.labels.tolist() == [0, 1, 2, 3, 4] and sketch.labels.tolist() == [4, 3, 2, 1, 0]
    assert photo[0][FEATURES].dtype == torch.float32 and sketch[0][FEATURES].dtype == torch.float32
    with pytest.raises(DataError, match=r"labels of 'val_sketch' and 'val_photo' differ"):
        FeatureDataset(tmp_path / "g.npz", split="val")


def test_mat_vectors_onehot_float_labels_and_sparse(tmp_path: Path) -> None:
    labels = np.array([2, 0, 1, 2])
    onehot = np.eye(3)[labels]  # (4, 3) one-hot
    scipy.io.savemat(
        tmp_path / "m.mat",
        {
            "train_a": np.ones((4, 2)),
            "train_b": scipy.sparse.csc_matrix(np.eye(4, 5)),
            "train_a_lab": labels.astype(float),  # savemat writes a (1, 4) double row vector
            "train_b_lab": onehot,
        },
    )
    a = FeatureDataset(tmp_path / "m.mat", modality="a")
    b = FeatureDataset(tmp_path / "m.mat", modality="b")
    assert a.labels.tolist() == labels.tolist() == b.labels.tolist()
    np.testing.assert_array_equal(b.features("b"), np.eye(4, 5, dtype=np.float32))


def test_unlabelled_features(tmp_path: Path) -> None:
    np.savez(tmp_path / "u.npz", train_x=np.zeros((3, 2), np.float32))
    assert FeatureDataset(tmp_path / "u.npz", modality="x")[1][LABEL] == -1


@pytest.mark.parametrize(
    ("arrays", "pattern"),
    [
        ({"train_img": np.zeros(5)}, r"array 'train_img' has shape \(5,\); expected a 2-D \(N, F\)"),
        ({"train_img": np.zeros((2, 3, 4))}, r"array 'train_img' has shape \(2, 3, 4\)"),
        ({"train_img": np.zeros((2, 3), bool)}, r"array 'train_img' has dtype bool"),
        ({"train_img": np.zeros((4, 2)), "train_txt": np.zeros((3, 2))},
         r"'train_txt' has 3 rows but 'train_img' has 4"),
        ({"train_img": np.zeros((4, 2)), "train_img_lab": np.zeros((3, 1), int)},
         r"label array 'train_img_lab' has 3 labels but 'train_img' has 4 rows"),
        ({"train_img": np.zeros((4, 2)), "train_labels": np.zeros((4, 2, 1), int)},
         r"label array 'train_labels' has shape \(4, 2, 1\); expected \(4,\), \(4, 1\)"),
        ({"train_img": np.zeros((2, 2)), "train_img_lab": np.array([0.5, 1.0])}, r"'train_img_lab' holds non-integer"),
        ({"train_img": np.array([[0.0, np.nan], [1.0, 1.0]])}, r"'train_img' has NaN/inf values \(first in row 0\)"),
        ({"meta": np.zeros(3)}, r"no feature arrays found \(keys: \['meta'\]\); expected '<split>_<modality>'"),
    ],
)  # fmt: skip
def test_bad_arrays_are_named(tmp_path: Path, arrays: dict[str, np.ndarray], pattern: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=pattern):
        FeatureDataset(tmp_path / "bad.npz", split="train")


def test_file_level_errors(tmp_path: Path, pascal_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = pascal_file
    with pytest.raises(ConfigError, match=r"no modality 'audio'; available: \['img', 'txt'\]"):
        FeatureDataset(path, modality="audio")
    with pytest.raises(ConfigError, match=r"unknown split 'val'; available: \['test', 'train'\]"):
        FeatureDataset(path, split="val")
    v73 = tmp_path / "big.mat"
    v73.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: x HDF5 schema 1.00 .".ljust(512, b"\0"))
    with pytest.raises(DataError, match=r"big\.mat: MATLAB v7\.3 \(HDF5\) .mat files are not supported"):
        FeatureDataset(v73)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz: not a readable \.npz file"):
        FeatureDataset(tmp_path / "junk.npz")
    np.save(tmp_path / "one.npy", np.zeros((2, 2)))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(DataError, match=r"one\.npz: holds a single array"):
        FeatureDataset(tmp_path / "one.npz")
    (tmp_path / "junk.mat").write_bytes(b"\x00" * 50)
    with pytest.raises(DataError, match=r"junk\.mat: not a readable \.mat file"):
        FeatureDataset(tmp_path / "junk.mat")
    with pytest.raises(DataError, match=r"missing\.npz: not found"):
        FeatureDataset(tmp_path / "missing.npz")
    (tmp_path / "f.h5").write_bytes(b"")
    with pytest.raises(DataError, match=r"unsupported suffix '\.h5'"):
        FeatureDataset(tmp_path / "f.h5")
