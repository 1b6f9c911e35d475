"""``fashion_mnist_pairs`` on IDX files the test writes in exactly the layout dataset-fashion-mnist installs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from semspace.data import create_dataset
from semspace.data.datasets.fashion_mnist_pairs import ATTRIBUTES, NAMES, fashion_mnist_available, read_idx
from semspace.errors import ConfigError, DataError


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for stem, n in (("train", 60), ("t10k", 30)):
        labels = np.arange(n) % 10  # every class, n / 10 items each
        images = rng.integers(0, 256, size=(n, 28, 28))
        images[:, 0, 0] = labels  # pixel (0, 0) tells the class, to check rows and labels stay together
        _write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", labels)
    return tmp_path


def test_read_idx_round_trips_and_refuses_other_files(tmp_path: Path) -> None:
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), arr)
    (tmp_path / "b").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01abcd")
    with pytest.raises(DataError, match="not an unsigned-byte IDX"):
        read_idx(tmp_path / "b")


def test_target_pairs_are_the_even_classes_with_captions_from_their_attributes(root: Path) -> None:
    ds = create_dataset("fashion_mnist_pairs", root=str(root), split="train", role="target", per_class=3)
    assert ds.classes == tuple(NAMES[c] for c in (0, 2, 4, 6, 8)) and len(ds) == 15 and ds.feature_dim("img") == 784
    for i in range(len(ds)):
        item = ds[i]
        name = ds.classes[int(item["label"])]
        assert int(item["label"]) == i % 5 and item["key"] == name
        assert round(float(item["features"]["img"][0]) * 255) == NAMES.index(name)  # the row of that class
        names, attrs = ATTRIBUTES[name]
        assert any(n in item["text"] for n in names) and sum(a in item["text"] for a in attrs) >= 2
    again = create_dataset("fashion_mnist_pairs", root=str(root), split="train", role="target", per_class=3)
    assert again.texts == ds.texts  # a pure function of (seed, split, idx)
    other = create_dataset("fashion_mnist_pairs", root=str(root), split="train", role="target", per_class=3, seed=1)
    assert other.texts != ds.texts


def test_source_is_the_odd_classes_without_text(root: Path) -> None:
    ds = create_dataset("fashion_mnist_pairs", root=str(root), split="test", role="source", per_class=2)
    assert ds.classes == tuple(NAMES[c] for c in (1, 3, 5, 7, 9)) and ds.texts is None
    assert "text" not in ds[0] and ds.num_classes == 5


def test_missing_files_and_bad_arguments_say_what_to_do(tmp_path: Path, root: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert fashion_mnist_available(root) and not fashion_mnist_available(empty)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.* not found; install the Debian package"):
        create_dataset("fashion_mnist_pairs", root=str(empty))
    with pytest.raises(ConfigError, match="unknown split 'val'"):
        create_dataset("fashion_mnist_pairs", root=str(root), split="val")
    with pytest.raises(ConfigError, match="role must be"):
        create_dataset("fashion_mnist_pairs", root=str(root), role="both")
    with pytest.raises(ConfigError, match="has 6 train images"):
        create_dataset("fashion_mnist_pairs", root=str(root), per_class=7)
