"""The array-file loaders on fixtures written in each published layout: ``.npz``/``.npy`` images + labels, MNIST's
IDX files (gzipped and plain, magic numbers and big-endian sizes as MNIST ships them), and SVHN's ``.mat``
(``X`` 32 x 32 x 3 x N, ``y`` N x 1 with 10 for the digit 0)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from semspace.data import create_dataset
from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import build_transform
from semspace.errors import DataError
from semspace.types import IMAGE, KEY, LABEL


def _digits(n: int = 6, side: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(N, side, side) uint8 images whose pixel (0, 0) is 10 * label, and labels 0..2 in turn."""
    labels = np.arange(n) % 3
    img = np.zeros((n, side, side), np.uint8)
    img[:, 0, 0] = 10 * labels
    img[:, -1, -1] = 255
    return img, labels


def _idx(path: Path, a: np.ndarray, gz: bool) -> None:
    head = bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    (gzip.open if gz else open)(path, "wb").write(head + a.astype(np.uint8).tobytes())


def test_npz_and_npy_layouts(tmp_path: Path) -> None:
    img, lab = _digits()
    np.savez(tmp_path / "d.npz", images=img, labels=lab)
    ds = create_dataset("image_arrays", path=tmp_path / "d.npz")
    assert len(ds) == 6 and ds.labels.tolist() == lab.tolist() and ds.class_names == ["0", "1", "2"]
    item = ds[4]
    assert item[LABEL] == 1 and item[KEY] == "1" and item[IMAGE].size == (8, 8) and item[IMAGE].mode == "RGB"
    assert item[IMAGE].getpixel((0, 0)) == (10, 10, 10)
    # channel-first floats in [0, 1] and x/y keys: scaled to 0..255, the axes found
    np.savez(tmp_path / "f.npz", x=(img[:, None] / 255.0).astype(np.float32), y=lab)
    got = create_dataset("image_arrays", path=tmp_path / "f.npz")
    assert got[4][IMAGE].getpixel((0, 0)) == (10, 10, 10) and got[0][IMAGE].getpixel((7, 7)) == (255, 255, 255)
    # .npy images + .npy labels; a 1-channel transform gives grey images
    np.save(tmp_path / "img.npy", img[..., None])
    np.save(tmp_path / "lab.npy", lab.reshape(-1, 1))
    npy = create_dataset("image_arrays", path=tmp_path / "img.npy", labels=str(tmp_path / "lab.npy"))
    npy.transform = build_transform(PreprocessCfg(size=16, channels=1, mean=(0.5,), std=(0.5,)))
    assert npy[2][IMAGE].shape == (1, 16, 16) and npy[2][LABEL] == 2
    # flattened square rows (scikit-learn's 8 x 8 digits)
    np.savez(tmp_path / "flat.npz", data=img.reshape(6, 64), targets=lab)
    assert create_dataset("image_arrays", path=tmp_path / "flat.npz")[1][IMAGE].size == (8, 8)


def test_npz_errors_name_the_file_and_the_keys(tmp_path: Path) -> None:
    img, lab = _digits()
    np.savez(tmp_path / "d.npz", pixels=img, labels=lab)
    with pytest.raises(DataError, match=r"d\.npz: no images array .* it holds \['labels', 'pixels'\]"):
        create_dataset("image_arrays", path=tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", images=img, labels=lab[:5])
    with pytest.raises(DataError, match=r"labels of shape \(5,\); expected \(6,\)"):
        create_dataset("image_arrays", path=tmp_path / "e.npz")
    np.savez(tmp_path / "g.npz", images=np.zeros((6, 8, 8, 7)), labels=lab)
    with pytest.raises(DataError, match="cannot tell the axes"):
        create_dataset("image_arrays", path=tmp_path / "g.npz")


@pytest.mark.parametrize("gz", [True, False])
def test_idx_as_mnist_ships_it(tmp_path: Path, gz: bool) -> None:
    img, lab = _digits(side=28)
    suffix = ".gz" if gz else ""
    _idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", img, gz)
    _idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", lab, gz)
    ds = create_dataset("idx_images", root=tmp_path, split="test")
    assert len(ds) == 6 and ds.labels.tolist() == lab.tolist() and ds[5][IMAGE].size == (28, 28)
    assert ds[5][IMAGE].getpixel((0, 0)) == (20, 20, 20)
    with pytest.raises(DataError, match=r"missing .*train-images-idx3-ubyte\(\.gz\)"):
        create_dataset("idx_images", root=tmp_path, split="train")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x03" + bytes(20))
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        create_dataset("idx_images", images=str(tmp_path / "bad"))


def test_svhn_mat_layout(tmp_path: Path) -> None:
    img, lab = _digits(n=5, side=32)
    x = np.repeat(img[..., None], 3, axis=3).transpose(1, 2, 3, 0)  # (32, 32, 3, N): MATLAB's order
    y = np.where(lab == 0, 10, lab).reshape(-1, 1).astype(np.float64)  # SVHN: 10 stands for 0, doubles
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    ds = create_dataset("mat_images", path=tmp_path / "test_32x32.mat", ten_is_zero=True)
    assert len(ds) == 5 and ds.labels.tolist() == lab.tolist() and ds[4][IMAGE].getpixel((0, 0)) == (10, 10, 10)
    assert create_dataset("mat_images", path=tmp_path / "test_32x32.mat").labels.tolist()[0] == 10
    with pytest.raises(DataError, match=r"has no array 'images'; it holds \['X', 'y'\]"):
        create_dataset("mat_images", path=tmp_path / "test_32x32.mat", images_key="images")
