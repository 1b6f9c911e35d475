"""``fashion_mnist_pairs``: a small real cross-modal set built from packaged data, for CHTN's table (issue 9).

Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747) as the Debian package ``dataset-fashion-mnist``
installs it (``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``, the authors'
IDX files); nothing is downloaded. Its ten classes are split once, by a fixed rule: the *target* classes are the
even labels (T-shirt/top, Pullover, Coat, Shirt, Bag: four look-alike tops and a bag), each with a few photos that
get a caption written from the class's attributes (``ATTRIBUTES``: names and attributes, several shared between
classes, two attributes per caption drawn from the seed); the *source* classes are the odd labels (Trouser, Dress,
Sandal, Sneaker, Ankle boot): labelled single-modal images of other categories, as CHTN's ImageNet. Training pairs
and source images come from the ``train`` file, test pairs from ``t10k``.

Items: ``FEATURES: {"img": (784,)}`` (the 28 x 28 pixels in [0, 1], row-major: the image features every method
reads), ``TEXT`` (the caption; target only), ``LABEL`` (index in ``classes``), ``KEY`` (class name), ``DOMAIN``
``"photo"``, ``INDEX``. Which rows are taken is a pure function of ``(seed, split, role)``; a caption of
``(seed, split, idx)``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, FEATURES, INDEX, KEY, LABEL, TEXT

ROOT = "/usr/share/datasets/fashion-mnist"  # where dataset-fashion-mnist installs the IDX files
PACKAGE = "dataset-fashion-mnist"
NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
TARGET = tuple(range(0, 10, 2))  # even labels: the paired target classes
SOURCE = tuple(range(1, 10, 2))  # odd labels: the labelled single-modal source classes
ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # class -> (names, attributes)
    "T-shirt/top": (("t-shirt", "tee", "top"), ("short sleeves", "a round neck", "cotton", "a print", "no collar")),
    "Pullover": (("pullover", "sweater", "jumper", "top"), ("long sleeves", "a round neck", "wool", "a knit")),
    "Coat": (("coat", "jacket", "parka"), ("long sleeves", "buttons", "a zip", "a collar", "pockets")),
    "Shirt": (("shirt", "blouse", "top"), ("buttons", "a collar", "long sleeves", "short sleeves", "cotton")),
    "Bag": (("bag", "handbag", "tote"), ("a handle", "a strap", "a zip", "leather", "pockets")),
}
TEMPLATES = ("a {n} with {a} and {b}", "a photo of a {n} with {a}, {b}", "{n} with {a} and {b}", "a {n}: {a}, {b}")
_SPLIT_FILE = {"train": "train", "test": "t10k"}
_ROLE_STREAM = {"target": 1, "source": 2}
_MEMO: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as its array: magic ``0 0 dtype ndim``, the big-endian sizes, the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()}, expected 0000 08 nn)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: {data.size} bytes of data for an array of shape {dims}")
    return data.reshape(dims)


def load_fashion_mnist(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of ``split`` ("train" or "test") under ``root``."""
    root = Path(root)
    key = (str(root), split)
    if key not in _MEMO:
        stem = _SPLIT_FILE[split]
        files = [root / f"{stem}-images-idx3-ubyte.gz", root / f"{stem}-labels-idx1-ubyte.gz"]
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise DataError(
                f"fashion_mnist_pairs: {', '.join(missing)} not found; install the Debian package {PACKAGE} "
                f"(apt-get install {PACKAGE}) or pass root= a folder with the IDX files"
            )
        images, labels = read_idx(files[0]), read_idx(files[1]).astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise DataError(f"fashion_mnist_pairs: {files[0]} has shape {images.shape}, {files[1]} {len(labels)} rows")
        _MEMO[key] = (images, labels)
    return _MEMO[key]


def fashion_mnist_available(root: str | Path = ROOT) -> bool:
    """Whether the IDX files are there (the benchmark skips its table, saying why, when not)."""
    return all((Path(root) / f"{s}-{k}-ubyte.gz").is_file() for s in ("train", "t10k") for k in ("images-idx3",
               "labels-idx1"))  # fmt: skip


def caption(name: str, rng: np.random.Generator) -> str:
    """A caption of a ``name`` item written from its class's attributes (a name and two attributes)."""
    names, attrs = ATTRIBUTES[name]
    a, b = rng.choice(len(attrs), size=2, replace=False)
    tpl = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    return tpl.format(n=names[int(rng.integers(len(names)))], a=attrs[int(a)], b=attrs[int(b)])


@DATASETS.register("fashion_mnist_pairs")
class FashionMnistPairsDataset(Dataset):
    """Fashion-MNIST as few captioned pairs (target) or labelled source images (module docstring).

    Args:
        root: folder of the IDX files (default: where ``dataset-fashion-mnist`` installs them).
        split: "train" or "test" (the ``t10k`` file).
        role: "target" (even classes, with captions) or "source" (odd classes, images and labels only).
        per_class: items of each class (drawn from the seed among the split's items of that class).
        seed: which items and which captions.
    """

    def __init__(
        self, *, root: str = ROOT, split: str = "train", role: str = "target", per_class: int = 8, seed: int = 0
    ) -> None:
        if split not in _SPLIT_FILE:
            raise ConfigError(f"fashion_mnist_pairs: unknown split {split!r}; available: {sorted(_SPLIT_FILE)}")
        if role not in _ROLE_STREAM:
            raise ConfigError(f"fashion_mnist_pairs: role must be 'target' or 'source', got {role!r}")
        if per_class < 1:
            raise ConfigError(f"fashion_mnist_pairs: per_class must be >= 1, got {per_class}")
        images, labels = load_fashion_mnist(root, split)
        self.split, self.role, self.seed = split, role, int(seed)
        self.class_ids = TARGET if role == "target" else SOURCE
        rng = np.random.default_rng([self.seed, _ROLE_STREAM[role], 0 if split == "train" else 1])
        rows = []
        for c in self.class_ids:
            pool = np.flatnonzero(labels == c)
            if len(pool) < per_class:
                raise ConfigError(f"fashion_mnist_pairs: class {NAMES[c]!r} has {len(pool)} {split} images")
            rows.append(rng.choice(pool, size=per_class, replace=False))
        order = np.stack(rows, axis=1).reshape(-1)  # (per_class * C,): item i is class i % C
        self._x = images[order].reshape(len(order), -1).astype(np.float32) / 255.0  # (N, 784)
        self.labels = np.tile(np.arange(len(self.class_ids), dtype=np.int64), per_class)  # (N,)
        self.texts: list[str] | None = None
        if role == "target":
            self.texts = [
                caption(self.classes[int(y)], np.random.default_rng([self.seed, 3, 0 if split == "train" else 1, i]))
                for i, y in enumerate(self.labels)
            ]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(NAMES[c] for c in self.class_ids)

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    def feature_dim(self, key: str) -> int:
        """784, the width of the ``img`` features."""
        if key != "img":
            raise ConfigError(f"fashion_mnist_pairs: no features {key!r}; this dataset holds 'img'")
        return int(self._x.shape[1])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if not 0 <= idx < len(self):
            raise IndexError(f"fashion_mnist_pairs: index {idx} out of range 0..{len(self) - 1}")
        y = int(self.labels[idx])
        item: dict[str, Any] = {
            FEATURES: {"img": torch.from_numpy(self._x[idx])},  # (784,)
            LABEL: torch.tensor(y, dtype=torch.int64),
            KEY: self.classes[y],
            DOMAIN: "photo",
            INDEX: torch.tensor(idx, dtype=torch.int64),
        }
        if self.texts is not None:
            item[TEXT] = self.texts[idx]
        return item
