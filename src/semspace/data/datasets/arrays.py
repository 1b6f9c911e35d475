"""Labelled images stored as arrays, read directly (no PNG conversion): one loader per common layout.

* ``image_arrays``: NumPy. ``path`` is an ``.npz`` archive holding an images array and a labels array (keys
  ``images_key`` / ``labels_key``; by default the first present of ``images``, ``x``, ``X``, ``data`` and of
  ``labels``, ``y``, ``Y``, ``targets``), or an ``.npy`` images file with ``labels`` the path of an ``.npy``
  labels file (optional: without labels every label is -1). Pickled (object) arrays are never loaded.
* ``idx_images``: IDX files as MNIST ships them (``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``,
  ``t10k-...`` for the test split), gzipped (``.gz``) or not: ``root`` + ``split`` (``train`` / ``test``), or the
  two files given as ``images`` and ``labels``. Fashion-MNIST and KMNIST use the same names.
* ``mat_images``: a MATLAB ``.mat`` file (``scipy.io.loadmat``; v7.3/HDF5 files are refused with the way to
  convert them) with the images under ``images_key`` (default ``X``) and the labels under ``labels_key``
  (default ``y``). SVHN's ``train_32x32.mat`` / ``test_32x32.mat`` load as they are: ``X`` is 32 x 32 x 3 x N
  (MATLAB's order, the items on the last axis) and ``y`` is N x 1 with 1..10, where 10 stands for the digit 0:
  ``ten_is_zero=true`` maps it to 0.

Image arrays (``layout``, ``"auto"`` by default): ``(N, H, W)`` grey; ``(N, H, W, C)`` with C in 1, 3, 4 (``nhwc``);
``(N, C, H, W)`` with C in 1, 3 (``nchw``, PyTorch's); ``(H, W, C, N)`` (``hwcn``, MATLAB's; auto-detected when
the last axis has the labels' length and the third is 1 or 3); ``(N, D)`` with D a square (flattened square
images, e.g. scikit-learn's 8 x 8 digits). uint8 values are used as they are; float values in [0, 1] are scaled
by 255, others clipped to 0..255. Labels: ``(N,)``, ``(N, 1)``/``(1, N)`` or one-hot ``(N, C)``, integers (or
integer-valued floats). Items, like ``folder``'s: ``IMAGE`` (a PIL image, RGB or grey as the transform's
``PreprocessCfg`` asks, transformed when a transform is attached), ``LABEL``, ``KEY`` (the label as text), ``PATH``
(``file#row``), ``INDEX``; ``labels``, ``classes`` and ``class_names`` (``"0"``..) describe the label space.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from semspace.data.base import BaseDataset
from semspace.data.datasets.fashion_mnist_pairs import read_idx
from semspace.data.datasets.features import load_arrays
from semspace.data.preprocess import PreprocessCfg
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import IMAGE, KEY, LABEL, PATH

LAYOUTS = ("auto", "nhwc", "nchw", "hwcn")
IMAGE_KEYS = ("images", "x", "X", "data")
LABEL_KEYS = ("labels", "y", "Y", "targets")
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}  # fmt: skip


def to_nhwc(a: np.ndarray, layout: str, n_labels: int | None, where: str) -> np.ndarray:
    """The images of ``a`` as ``(N, H, W, C)`` (module docstring's layouts); a ``DataError`` names ``where``."""
    if layout not in LAYOUTS:
        raise ConfigError(f"{where}: layout={layout!r}; expected one of {list(LAYOUTS)}")
    if a.dtype.kind not in "uif" or a.dtype.kind == "b":
        raise DataError(f"{where}: images have dtype {a.dtype}; expected numbers (uint8 or float)")
    if layout == "auto":
        if a.ndim == 2:
            side = int(round(np.sqrt(a.shape[1])))
            if side * side != a.shape[1]:
                raise DataError(f"{where}: images of shape {a.shape} are rows of {a.shape[1]} values, not a square "
                                "image; expected (N, H, W), (N, H, W, C), (N, C, H, W) or (N, side*side)")  # fmt: skip
            return a.reshape(len(a), side, side, 1)
        if a.ndim == 3:
            return a[..., None]
        if a.ndim == 4 and a.shape[3] in (1, 3, 4):
            layout = "nhwc"
        elif a.ndim == 4 and a.shape[2] in (1, 3) and (a.shape[3] == n_labels or a.shape[1] not in (1, 3)):
            layout = "hwcn"  # MATLAB's order (SVHN): the items on the last axis
        elif a.ndim == 4 and a.shape[1] in (1, 3):
            layout = "nchw"
        else:
            raise DataError(f"{where}: cannot tell the axes of images of shape {a.shape}; expected (N, H, W), "
                            "(N, H, W, C), (N, C, H, W) or (H, W, C, N) with C in 1, 3 (set layout=...)")  # fmt: skip
    if a.ndim != 4:
        raise DataError(f"{where}: layout={layout!r} needs a 4-D array; got shape {a.shape}")
    out = {"nhwc": a, "nchw": a.transpose(0, 2, 3, 1), "hwcn": a.transpose(3, 0, 1, 2)}[layout]
    if out.shape[3] not in (1, 3, 4):
        raise DataError(f"{where}: images of shape {a.shape} read as {layout} have {out.shape[3]} channels; "
                        "expected 1, 3 or 4")  # fmt: skip
    return out


def label_vector(a: Any, n: int, where: str) -> np.ndarray:
    """(N,) int64 labels from (N,), (N, 1), (1, N) or one-hot (N, C) integers; a ``DataError`` otherwise."""
    a = np.asarray(a)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    elif a.ndim == 2 and a.shape[0] == n and np.isin(a, (0, 1)).all() and (a.sum(axis=1) == 1).all():
        a = a.argmax(axis=1)
    if a.ndim != 1 or len(a) != n:
        raise DataError(f"{where}: labels of shape {a.shape}; expected ({n},), ({n}, 1) or one-hot ({n}, C)")
    if a.dtype.kind == "f" and np.isfinite(a).all() and (a == np.round(a)).all():
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise DataError(f"{where}: labels have dtype {a.dtype} (or non-integer values); expected integer classes")
    return a.astype(np.int64)


class ArrayImageDataset(BaseDataset):
    """Images ``(N, H, W, C)`` and labels held in memory (or memory-mapped); the shared part of the loaders."""

    available_splits: ClassVar[tuple[str, ...]] = ("all",)

    def _set_arrays(self, images: np.ndarray, labels: np.ndarray | None, source: Path, layout: str) -> None:
        lab = None if labels is None else np.asarray(labels)
        n_labels = None if lab is None else lab.size if lab.ndim <= 1 or 1 in lab.shape else len(lab)
        self.images = to_nhwc(np.asarray(images), layout, n_labels, f"{type(self).__name__} {source}")  # (N,H,W,C)
        n = len(self.images)
        if n == 0:
            raise DataError(f"{type(self).__name__} {source}: no images (the array is empty)")
        self.labels = (np.full(n, -1, np.int64) if labels is None
                       else label_vector(labels, n, f"{type(self).__name__} {source}"))  # fmt: skip
        self.source = source
        known = sorted({int(v) for v in self.labels if v >= 0})
        self.class_names = [str(i) for i in range(max(known) + 1)] if known else []
        self.classes = tuple(self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)

    def pil_image(self, idx: int) -> Image.Image:
        """Image ``idx`` as a PIL image: grey when the transform asks for 1 channel, else RGB."""
        a = np.asarray(self.images[idx])  # (H, W, C)
        if a.dtype != np.uint8:
            a = a.astype(np.float32)
            a = np.clip(a * 255.0 if a.size and a.min() >= 0 and a.max() <= 1.0 else a, 0, 255).astype(np.uint8)
        img = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
        cfg = getattr(self.transform, "cfg", None)
        return img.convert("L" if isinstance(cfg, PreprocessCfg) and cfg.channels == 1 else "RGB")

    def get_item(self, idx: int) -> dict[str, Any]:
        img = self.pil_image(idx)
        label = int(self.labels[idx])
        return {IMAGE: self.transform(img) if self.transform is not None else img, LABEL: label,
                KEY: str(label) if label >= 0 else "", PATH: f"{self.source}#{idx}"}  # fmt: skip


def _pick_key(
    arrays: dict[str, Any], given: str | None, defaults: tuple[str, ...], what: str, path: Path
) -> str | None:
    if given is not None:
        if given not in arrays:
            raise DataError(f"array file {path}: no array {given!r} ({what}); it holds {sorted(arrays)}")
        return given
    return next((k for k in defaults if k in arrays), None)


@DATASETS.register("image_arrays")
class NumpyImageDataset(ArrayImageDataset):
    """Images (and labels) from ``.npz`` / ``.npy`` files (module docstring)."""

    def __init__(self, path: str | os.PathLike[str], split: str = "all", labels: str | None = None,
                 images_key: str | None = None, labels_key: str | None = None, layout: str = "auto",
                 transform: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        self._args = (Path(path), labels, images_key, labels_key, layout)
        super().__init__(Path(path).parent, split, transform)

    def validate_layout(self) -> None:
        path, labels_path, images_key, labels_key, layout = self._args
        suffix = path.suffix.lower()
        if suffix == ".npz":
            arrays = load_arrays(path)
            ik = _pick_key(arrays, images_key, IMAGE_KEYS, "images", path)
            if ik is None:
                raise DataError(f"array file {path}: no images array (looked for {list(IMAGE_KEYS)}); it holds "
                                f"{sorted(arrays)}: set images_key")  # fmt: skip
            lk = _pick_key(arrays, labels_key, LABEL_KEYS, "labels", path)
            labels = arrays[lk] if lk is not None else None
            images = arrays[ik]
        elif suffix == ".npy":
            images = _load_npy(path, "images")
            labels = _load_npy(Path(labels_path), "labels") if labels_path is not None else None
        else:
            raise DataError(f"image_arrays: {path} has suffix {suffix!r}; expected .npz (images + labels) or .npy")
        self._set_arrays(images, labels, path, layout)


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"image_arrays: {what} file {path} not found; expected an .npy array")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object arrays, a corrupt header
        raise DataError(f"image_arrays: {path}: not a readable numeric .npy array ({exc})") from None


@DATASETS.register("idx_images")
class IdxImageDataset(ArrayImageDataset):
    """MNIST-style IDX image and label files, gzipped or not (module docstring)."""

    available_splits: ClassVar[tuple[str, ...]] = ("train", "test")

    def __init__(self, root: str | os.PathLike[str] | None = None, split: str = "train", images: str | None = None,
                 labels: str | None = None, transform: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        if root is None and images is None:
            raise ConfigError("idx_images: give root (a folder with MNIST's IDX files) or images (and labels) paths")
        if split not in self.available_splits:
            raise ConfigError(f"idx_images: unknown split {split!r}; available: {list(self.available_splits)}")
        self._given = (images, labels, split)
        super().__init__(Path(root) if root is not None else Path(str(images)).parent, split, transform)

    def _find(self, stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (self.root / name).is_file():
                return self.root / name
        raise DataError(f"idx_images: missing {self.root / stem}(.gz); expected MNIST's IDX files "
                        f"{IDX_FILES[self.split]} (gzipped or not) in {self.root}")  # fmt: skip

    def validate_layout(self) -> None:
        images, labels, split = self._given
        img_path = Path(images) if images is not None else self._find(IDX_FILES[split][0])
        lab_path = Path(labels) if labels is not None else (self._find(IDX_FILES[split][1]) if images is None else None)
        img = _read_idx(img_path)
        if img.ndim != 3:
            raise DataError(f"idx_images: {img_path} holds an array of shape {img.shape}; expected (N, H, W) images")
        lab = _read_idx(lab_path) if lab_path is not None else None
        if lab is not None and (lab.ndim != 1 or len(lab) != len(img)):
            raise DataError(f"idx_images: {lab_path} holds {lab.shape} labels for the {len(img)} images of {img_path}")
        self._set_arrays(img, lab, img_path, "auto")


def _read_idx(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"idx_images: {path} not found; expected an IDX file (gzipped or not)")
    try:
        return read_idx(path)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"idx_images: {path}: not a readable IDX file ({exc})") from None


@DATASETS.register("mat_images")
class MatImageDataset(ArrayImageDataset):
    """Images and labels of a MATLAB file, SVHN's layout by default (module docstring)."""

    def __init__(self, path: str | os.PathLike[str], split: str = "all", images_key: str = "X",
                 labels_key: str | None = "y", layout: str = "auto", ten_is_zero: bool = False,
                 transform: Callable[[Any], Any] | None = None) -> None:  # fmt: skip
        self._args = (Path(path), images_key, labels_key, layout, ten_is_zero)
        super().__init__(Path(path).parent, split, transform)

    def validate_layout(self) -> None:
        path, images_key, labels_key, layout, ten_is_zero = self._args
        if path.suffix.lower() != ".mat":
            raise DataError(f"mat_images: {path} is not a .mat file")
        arrays = load_arrays(path)  # names the v7.3 conversion, a corrupt file
        if images_key not in arrays:
            raise DataError(f"mat_images: {path} has no array {images_key!r}; it holds {sorted(arrays)} (set "
                            "images_key)")  # fmt: skip
        if labels_key is not None and labels_key not in arrays:
            raise DataError(f"mat_images: {path} has no array {labels_key!r}; it holds {sorted(arrays)} (set "
                            "labels_key, or labels_key=none for unlabelled images)")  # fmt: skip
        labels = np.asarray(arrays[labels_key]) if labels_key is not None else None
        if labels is not None and ten_is_zero:
            labels = np.where(labels == 10, 0, labels)  # SVHN: class 10 is the digit 0
        self._set_arrays(np.asarray(arrays[images_key]), labels, path, layout)
