"""Folds and subsets of any registered dataset, taken from its spec by the dataset registry (one place for all).

Every data spec and config ``args`` may carry these beside the dataset's own arguments (``SUBSET_ARGS``); the
registry (``data.registry.DATASETS.create``) builds the dataset from its own arguments, then keeps a view:

* ``fold=k/K``: split the items the dataset's own arguments select (its ``split``, ...) into ``K`` folds (K >= 2)
  and keep fold ``k`` (numbered 1..K: ``fold=1/5`` .. ``fold=5/5``) with ``fold_part=test`` (the default), or the
  other K - 1 folds with ``fold_part=train``; so ``fold=2/5,fold_part=train`` and ``fold=2/5`` are disjoint and
  cover the split. The folds are deterministic given ``fold_seed`` (default 0): the items of each class (the
  dataset's ``labels``, when it has them and none is negative) are shuffled by the seed and dealt in turn to the
  folds, so every fold holds each class in proportion (stratified); without labels, one shuffled sequence is
  dealt the same way. Each fold keeps the loader's order.
* ``n=N``: the **first** ``N`` items (after the fold), in the loader's order (a folder loader's order is by
  class: use ``n_seed``); with ``n_seed=S`` instead a random ``N`` drawn with seed ``S``, kept in the loader's
  order. A dataset that takes ``n`` itself (the world's generators) keeps its own meaning (it makes ``n`` items;
  ``n_seed`` is refused there).

The view (``SubsetView``) serves ``view[i] = dataset[indices[i]]`` with ``INDEX`` set to ``i``, and keeps what the
tasks and benchmarks read: ``labels``, ``texts`` and ``features(modality)`` are restricted to the kept items; any
other attribute (``num_classes``, ``classes``, ``feature_dim``, ``modalities``, ``transform``, ...) is the
dataset's. Meant for datasets of independent items (pairs, images, feature rows): a composed-retrieval query set
refers to its gallery by position, which a fold does not carry.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from semspace.errors import ConfigError
from semspace.types import INDEX

SUBSET_ARGS = ("fold", "fold_part", "fold_seed", "n", "n_seed")
FOLD_PARTS = ("test", "train")
_FOLD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def takes_own_n(builder: Any) -> bool:
    """Whether the dataset builder accepts ``n`` itself (the world's generators: ``n`` items are made)."""
    try:
        params = inspect.signature(builder).parameters
    except (TypeError, ValueError):
        return False
    return "n" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def split_subset_args(name: str, builder: Any, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the dataset's own arguments, the subset arguments) of ``kwargs``, the latter checked (``check_subset``).

    ``n`` stays the dataset's own when its builder takes ``n`` (``takes_own_n``)."""
    own_n = takes_own_n(builder)
    sub = {k: v for k, v in kwargs.items() if k in SUBSET_ARGS and not (k == "n" and own_n)}
    own = {k: v for k, v in kwargs.items() if k not in sub}
    if own_n and "n_seed" in sub:
        raise ConfigError(
            f"dataset {name!r}: n_seed={sub['n_seed']!r} is for loaders of given items; {name!r} takes n itself "
            "(it makes n items), so a seeded subset does not apply; drop n_seed"
        )
    check_subset(name, sub)
    return own, sub


def parse_fold(name: str, value: Any) -> tuple[int, int]:
    """``"k/K"`` -> (k, K), 1 <= k <= K, K >= 2; anything else is a ``ConfigError`` saying what was expected."""
    m = _FOLD.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"dataset {name!r}: fold={value!r}; expected 'k/K' (the k-th of K folds, e.g. fold=1/5)")
    k, n_folds = int(m[1]), int(m[2])
    if n_folds < 2:
        raise ConfigError(f"dataset {name!r}: fold={value!r} has K = {n_folds} folds; expected K >= 2")
    if not 1 <= k <= n_folds:
        raise ConfigError(f"dataset {name!r}: fold={value!r}; folds are numbered 1..{n_folds} (fold=1/{n_folds})")
    return k, n_folds


def _int_arg(name: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"dataset {name!r}: {key}={value!r}; expected an integer >= {low}")
    return int(value)


def check_subset(name: str, sub: dict[str, Any]) -> None:
    """Raises ``ConfigError`` for a bad subset argument (which one, its value and what was expected)."""
    if "fold" in sub:
        parse_fold(name, sub["fold"])
    elif "fold_part" in sub or "fold_seed" in sub:
        given = [k for k in ("fold_part", "fold_seed") if k in sub]
        raise ConfigError(f"dataset {name!r}: {given} given without fold=k/K; add fold (e.g. fold=1/5)")
    if "fold_part" in sub and sub["fold_part"] not in FOLD_PARTS:
        raise ConfigError(f"dataset {name!r}: fold_part={sub['fold_part']!r}; expected 'test' (fold k) or 'train' "
                          "(the other folds)")  # fmt: skip
    if "fold_seed" in sub:
        _int_arg(name, "fold_seed", sub["fold_seed"], 0)
    if "n" in sub:
        _int_arg(name, "n", sub["n"], 1)
    if "n_seed" in sub:
        if "n" not in sub:
            raise ConfigError(f"dataset {name!r}: n_seed given without n; add n=N (the size of the seeded subset)")
        _int_arg(name, "n_seed", sub["n_seed"], 0)


def fold_indices(labels: np.ndarray | None, length: int, k: int, n_folds: int, seed: int) -> np.ndarray:
    """Positions of fold ``k`` (1-based) of ``n_folds``, stratified by ``labels`` when given (module docstring)."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(length)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    fold = np.empty(length, dtype=np.int64)
    offset = 0
    for g in groups:  # deal each class's shuffled items in turn, continuing where the last class stopped
        order = rng.permutation(g)
        fold[order] = (offset + np.arange(len(order))) % n_folds
        offset += len(order)
    return np.flatnonzero(fold == k - 1)


def subset_indices(name: str, dataset: Any, sub: dict[str, Any]) -> np.ndarray:
    """The positions of ``dataset`` that the subset arguments ``sub`` keep, in the loader's order."""
    length = len(dataset)
    idx = np.arange(length)
    if "fold" in sub:
        k, n_folds = parse_fold(name, sub["fold"])
        if length < n_folds:
            raise ConfigError(f"dataset {name!r}: fold={sub['fold']!r} needs at least {n_folds} items; it has {length}")
        labels = getattr(dataset, "labels", None)
        lab = np.asarray(labels).reshape(-1) if labels is not None else None
        if lab is None or len(lab) != length or lab.dtype.kind not in "iu" or (lab < 0).any():
            lab = None
        test = fold_indices(lab, length, k, n_folds, int(sub.get("fold_seed", 0)))
        idx = test if sub.get("fold_part", "test") == "test" else np.setdiff1d(idx, test)
    if "n" in sub:
        n = int(sub["n"])
        if n > len(idx):
            raise ConfigError(f"dataset {name!r}: n={n} but only {len(idx)} items are there"
                              + (" after the fold" if "fold" in sub else ""))  # fmt: skip
        if "n_seed" in sub:
            idx = np.sort(np.random.default_rng(int(sub["n_seed"])).choice(idx, size=n, replace=False))
        else:
            idx = idx[:n]
    return idx


def apply_subset(name: str, dataset: Any, sub: dict[str, Any]) -> Any:
    """``dataset`` itself without subset arguments, else its ``SubsetView``."""
    if not sub:
        return dataset
    describe = ", ".join(f"{k}={v}" for k, v in sub.items())
    return SubsetView(dataset, subset_indices(name, dataset, sub), describe=describe)


class SubsetView:
    """Items ``indices`` of ``base`` (module docstring): ``labels``, ``texts`` and ``features(m)`` restricted to
    them, every other attribute the base dataset's. A map-style dataset (``__len__``, ``__getitem__``) for any
    ``DataLoader``; not a ``torch`` subclass, so the registry imports no torch."""

    def __init__(self, base: Any, indices: Sequence[int] | np.ndarray, describe: str = "") -> None:
        self.__dict__["base"] = base
        self.__dict__["indices"] = np.asarray(indices, dtype=np.int64)  # (M,)
        self.__dict__["describe"] = describe

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self.indices)
        if not -n <= int(i) < n:
            raise IndexError(f"subset ({self.describe}) index {i} out of range for {n} items")
        item = dict(self.base[int(self.indices[int(i)])])
        if INDEX in item:
            item[INDEX] = int(i) % n
        return item

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.base.labels)[self.indices]  # (M,)

    @property
    def texts(self) -> list[str]:
        texts = self.base.texts  # AttributeError when the base has none (feature sets)
        return [texts[i] for i in self.indices]

    def features(self, modality: str) -> np.ndarray:
        """The kept rows of ``base.features(modality)`` (feature loaders), (M, F)."""
        return np.asarray(self.base.features(modality))[self.indices]

    def __getattr__(self, attr: str) -> Any:  # called only for attributes not found on the view
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.__dict__["base"], attr)

    def __setattr__(self, attr: str, value: Any) -> None:  # attach_transform sets the base's transform
        setattr(self.base, attr, value)

    def __repr__(self) -> str:
        return f"SubsetView({self.base!r}, {self.describe}, {len(self)} items)"
