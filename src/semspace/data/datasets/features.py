"""``features``: precomputed per-modality feature vectors from ``.npz`` or ``.mat`` (DESIGN §4).

Methods such as CHTN and DSCMR work on features instead of pixels. Two key layouts are read:

* DSCMR's Pascal Sentences files (``papers/datasets.md``): ``train_img`` (N, 4096),
  ``train_txt`` (N, 300), ``train_img_lab`` (N, 1) and the same for ``test``; the text rows are
  paired with the image rows and share their labels.
* the generic layout: ``<split>_<modality>`` arrays (N, F_m) with labels in ``<split>_<modality>_lab``
  (or ``_label``/``_labels``) or one ``<split>_labels`` (or ``_label``/``_lab``) for the whole split.

A modality without labels of its own takes the split's shared labels, else those of the first
modality (sorted by name) that has some, else -1 (unlabelled). Labels may be (N,), (N, 1), (1, N)
(what ``scipy.io.savemat`` writes for a vector) or one-hot (N, C); integer-valued floats (MATLAB's
doubles) are accepted; values are used as they are (1-based labels stay 1-based). Feature arrays must
be 2-D, numeric and finite; integer features (bag-of-words counts) are cast to float32, and sparse
``.mat`` matrices are densified. Only the selected split is validated. MATLAB v7.3 (HDF5) files are out
of scope (the error says how to convert them).

Items: with ``modality="img"`` ``FEATURES`` is a float32 (F,) tensor and ``DOMAIN`` is ``"img"``; with
``modality=None`` the item holds every modality of the row, paired: ``FEATURES`` is
``{modality: (F_m,) tensor}`` (collated to ``{modality: (B, F_m)}``) and ``DOMAIN`` is ``"img+txt"``.
Paired items need the modalities to agree on their labels.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse
import torch
from scipy.io.matlab import MatReadError

from semspace.data.base import BaseDataset
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError
from semspace.types import DOMAIN, FEATURES, LABEL

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^(?P<split>[A-Za-z0-9]+)_(?P<rest>\w+)$")
_LABEL_NAMES = ("labels", "label", "lab")
LAYOUT = (
    "'<split>_<modality>' (N, F) arrays with '<split>_<modality>_lab' or '<split>_labels' label arrays "
    "(e.g. train_img, train_txt, train_img_lab)"
)


_V73 = (
    "feature file {path}: MATLAB v7.3 (HDF5) .mat files are not supported; re-save it in MATLAB with "
    "save(file, ..., '-v7') or convert it to .npz (e.g. h5py + numpy.savez)"
)


def load_arrays(path: Path) -> dict[str, Any]:
    """The named arrays of a ``.npz`` or ``.mat`` file (MATLAB metadata keys dropped).

    Raises:
        DataError: missing file, unsupported suffix, MATLAB v7.3, or a corrupt file.
    """
    if not path.is_file():
        raise DataError(f"feature file {path}: not found; expected a .npz or .mat file of feature arrays")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            out: dict[str, Any] = {}
            z = np.load(path, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise DataError(f"feature file {path}: holds a single array; expected an .npz archive of named arrays")
            with z:
                for k in z.files:
                    try:
                        out[k] = z[k]
                    except ValueError:  # object arrays need pickle, which we never enable
                        logger.warning("%s: ignoring array %r (object dtype; not loaded without pickle)", path, k)
            return out
        if suffix == ".mat":
            with open(path, "rb") as fh:
                head = fh.read(128)
            if b"MATLAB 7.3" in head:
                raise DataError(_V73.format(path=path))
            return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # scipy's message for HDF5-based .mat files
        raise DataError(_V73.format(path=path)) from None
    except (zipfile.BadZipFile, MatReadError, ValueError, OSError, EOFError, TypeError) as exc:
        raise DataError(f"feature file {path}: not a readable {suffix} file: {exc}") from None
    raise DataError(f"feature file {path}: unsupported suffix {suffix!r}; expected .npz or .mat")


@DATASETS.register("features")
class FeatureDataset(BaseDataset):
    """Rows of precomputed features of one split, for one modality or all of them paired.

    Args:
        path: the ``.npz`` or ``.mat`` file.
        split: a split prefix present in the file (``"train"``, ``"test"``, ...).
        modality: one modality (``"img"``), or ``None`` for paired items holding every modality.

    Raises:
        DataError: unreadable file, no ``<split>_<modality>`` array, or a wrong shape/dtype (the
            message names the array, its shape and what was expected).
        ConfigError: unknown split or modality.
    """

    available_splits = ("train", "test")

    def __init__(self, path: str | os.PathLike[str], split: str = "train", modality: str | None = None) -> None:
        self.path = Path(path)
        super().__init__(self.path.parent, split, None)
        mods = self.modalities()
        if modality is not None and modality not in mods:
            raise ConfigError(
                f"feature file {self.path}: split {split!r} has no modality {modality!r}; available: {list(mods)}"
            )
        self.modality = modality
        self._features = {m: self._feature_array(m) for m in mods}  # {m: (N, F_m) float32}
        n = {m: len(a) for m, a in self._features.items()}
        ref = mods[0]
        for m in mods[1:]:
            if n[m] != n[ref]:
                raise DataError(
                    f"feature file {self.path}: array {self._key(m)!r} has {n[m]} rows but {self._key(ref)!r} has "
                    f"{n[ref]}; the modalities of split {split!r} must be paired row by row"
                )
        self._labels = {m: self._label_vector(m, n[ref]) for m in mods}  # {m: (N,) int64}
        if modality is None:
            for m in mods[1:]:
                if not np.array_equal(self._labels[m], self._labels[ref]):
                    raise DataError(
                        f"feature file {self.path}: the labels of {self._key(m)!r} and {self._key(ref)!r} differ; "
                        "paired items (modality=None) need equal labels; pick one modality"
                    )
        self.labels: np.ndarray = self._labels[modality or ref]  # (N,)
        self.domain = modality or "+".join(mods)

    def validate_layout(self) -> None:
        """Loads the file and groups its keys into splits, modalities and label arrays."""
        self._arrays = load_arrays(self.path)
        self._mods: dict[str, dict[str, str]] = {}  # split -> {modality: key}
        self._mod_labels: dict[tuple[str, str], str] = {}  # (split, modality) -> label key
        self._split_labels: dict[str, str] = {}  # split -> shared label key
        for key in sorted(self._arrays):
            m = _KEY.match(key)
            if m is None:
                logger.debug("%s: ignoring array %r (not <split>_<name>)", self.path, key)
                continue
            split, rest = m["split"], m["rest"]
            head, _, tail = rest.rpartition("_")
            if rest in _LABEL_NAMES:
                self._split_labels.setdefault(split, key)
            elif head and tail in _LABEL_NAMES:
                self._mod_labels.setdefault((split, head), key)
            elif _dense(self._arrays[key]).dtype.kind in "OUSV":
                logger.warning("%s: ignoring non-numeric array %r", self.path, key)
            else:
                self._mods.setdefault(split, {})[rest] = key
        if not self._mods:
            raise DataError(f"feature file {self.path}: no feature arrays found (keys: {sorted(self._arrays)}); "
                            f"expected {LAYOUT}")  # fmt: skip
        for (split, mod), key in self._mod_labels.items():
            if mod not in self._mods.get(split, {}):
                logger.warning("%s: label array %r has no feature array %r", self.path, key, f"{split}_{mod}")

    def get_available_splits(self) -> tuple[str, ...]:
        """The split prefixes that have at least one feature array."""
        return tuple(sorted(self._mods))

    # ---- public queries -----------------------------------------------------------------------------
    def modalities(self) -> tuple[str, ...]:
        """The modalities of this split, sorted (``("img", "txt")``)."""
        return tuple(sorted(self._mods[self.split]))

    def feature_dim(self, modality: str) -> int:
        """F of ``modality``."""
        if modality not in self._mods[self.split]:
            raise ConfigError(f"no modality {modality!r} in split {self.split!r}; available: {list(self.modalities())}")
        return int(self._features[modality].shape[1])

    def features(self, modality: str) -> np.ndarray:
        """All rows of ``modality`` as a float32 (N, F) array (for bulk evaluation without a loader)."""
        self.feature_dim(modality)  # validates the name
        return self._features[modality]

    def __len__(self) -> int:
        return len(self.labels)

    def get_item(self, idx: int) -> dict[str, Any]:
        if self.modality is not None:
            feats: Any = torch.from_numpy(self._features[self.modality][idx])  # (F,)
        else:
            feats = {m: torch.from_numpy(a[idx]) for m, a in self._features.items()}  # {m: (F_m,)}
        return {FEATURES: feats, LABEL: int(self.labels[idx]), DOMAIN: self.domain}

    # ---- validation ---------------------------------------------------------------------------------
    def _key(self, modality: str) -> str:
        return self._mods[self.split][modality]

    def _feature_array(self, modality: str) -> np.ndarray:
        key = self._key(modality)
        a = _dense(self._arrays[key])
        expected = "a 2-D (N, F) array of float features"
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
            raise DataError(f"feature file {self.path}: array {key!r} has shape {a.shape}; expected {expected}")
        if a.dtype.kind not in "fiu":
            raise DataError(f"feature file {self.path}: array {key!r} has dtype {a.dtype}; expected {expected}")
        a = np.ascontiguousarray(a, dtype=np.float32)
        if not np.isfinite(a).all():
            row = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise DataError(f"feature file {self.path}: array {key!r} has NaN/inf values (first in row {row})")
        return a

    def _label_vector(self, modality: str, n: int) -> np.ndarray:
        key = self._mod_labels.get((self.split, modality)) or self._split_labels.get(self.split)
        if key is None:
            own = sorted(k for (s, _), k in self._mod_labels.items() if s == self.split)
            key = own[0] if own else None
        if key is None:
            return np.full(n, -1, dtype=np.int64)
        a = _dense(self._arrays[key])
        where = f"feature file {self.path}: label array {key!r}"
        if a.ndim == 2 and 1 in a.shape:
            a = a.reshape(-1)  # (N, 1) or (1, N) -> (N,)
        elif a.ndim == 2 and a.shape[0] == n and _is_one_hot(a):
            a = a.argmax(axis=1)  # one-hot (N, C) -> (N,)
        if a.ndim != 1:
            raise DataError(f"{where} has shape {a.shape}; expected ({n},), ({n}, 1) or one-hot ({n}, C) integers")
        if a.dtype.kind == "f":
            if not (np.isfinite(a).all() and (a == np.round(a)).all()):
                raise DataError(f"{where} holds non-integer values; expected integer class ids")
            a = a.astype(np.int64)
        if a.dtype.kind not in "iu":
            raise DataError(f"{where} has dtype {a.dtype}; expected integer class ids")
        if len(a) != n:
            raise DataError(f"{where} has {len(a)} labels but {self._key(modality)!r} has {n} rows")
        return a.astype(np.int64)


def _dense(v: Any) -> np.ndarray:
    return v.toarray() if scipy.sparse.issparse(v) else np.asarray(v)


def _is_one_hot(a: np.ndarray) -> bool:
    return bool(np.isin(a, (0, 1)).all() and (a.sum(axis=1) == 1).all())
