"""``features``: precomputed per-modality feature vectors from ``.npz`` or ``.mat`` (DESIGN §4).

Methods such as CHTN and DSCMR work on features instead of pixels. ``path`` is a file, a folder or a list of
files; the layout is detected (``LAYOUTS``):

* a folder of MATLAB/npz files holding **one array per file**, the file's only key named like the file (DSCMR's
  Pascal Sentences: ``train_img.mat`` -> key ``train_img``), or a list of such files: the arrays are merged;
* the Wikipedia benchmark (Rasiwasia et al. 2010) as distributed: ``raw_features.mat`` with ``I_tr``, ``T_tr``,
  ``I_te``, ``T_te`` (image 128-d, text 10-d) and ``trainset_txt_img_cat.list`` / ``testset_txt_img_cat.list``
  beside it (``text_id <TAB> image_id <TAB> category 1..10``, line order = row order); the labels are
  ``category - 1``; read as splits ``train`` / ``test`` and modalities ``img`` / ``txt`` (the folder or the
  ``.mat`` file may be given);
* one ``.npz`` / ``.mat`` file in the key layouts below.

The key layouts of a file (or of the merged arrays):

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
Paired items need the modalities to agree on their labels. With ``modality`` given, only that modality's
arrays are checked (another modality's bad rows do not stop it). A split without any label array loads with
every label -1 and a warning naming the file and the arrays it looked for. Every error names the file that holds
the offending array.
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


LAYOUTS = (
    f"one .npz/.mat file of {LAYOUT}",
    "a folder (or list) of .mat/.npz files with one array each, named like the file (DSCMR: train_img.mat)",
    "the Wikipedia folder: raw_features.mat (I_tr, T_tr, I_te, T_te) + trainset_txt_img_cat.list / "
    "testset_txt_img_cat.list",
)
WIKI_KEYS = {"I_tr": "train_img", "T_tr": "train_txt", "I_te": "test_img", "T_te": "test_txt"}
WIKI_LISTS = {"train": "trainset_txt_img_cat.list", "test": "testset_txt_img_cat.list"}


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


def load_layout(path: Any) -> tuple[dict[str, Any], dict[str, Path], str]:
    """``(arrays in the key layout, {key: file that holds it}, layout name)`` of a file, folder or list of files.

    Raises:
        DataError: nothing readable, a file of a one-array-per-file folder with another key, a key in two files,
            or a Wikipedia list that does not match its array (each message names the file).
    """
    if isinstance(path, list | tuple):
        if not path:
            raise DataError("feature files: the list of paths is empty; expected .mat/.npz files")
        bad = [p for p in path if not isinstance(p, str | os.PathLike)]
        if bad:
            raise DataError(f"feature files: expected a list of paths, got {bad[0]!r} ({type(bad[0]).__name__})")
        return load_merged([Path(p) for p in path], one_per_file=False)
    if not isinstance(path, str | os.PathLike):
        raise DataError(f"feature file: expected a path (file or folder) or a list of paths, got {type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        if (p / "raw_features.mat").is_file():
            return load_wikipedia(p / "raw_features.mat")
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".mat", ".npz") and f.is_file())
        if not files:
            raise DataError(f"feature folder {p}: no .mat or .npz files; accepted layouts: {'; '.join(LAYOUTS)}")
        return load_merged(files, one_per_file=True)
    arrays = load_arrays(p)
    if set(WIKI_KEYS) & set(arrays):
        return load_wikipedia(p, arrays)
    return arrays, {k: p for k in arrays}, "file"


def load_merged(files: list[Path], *, one_per_file: bool) -> tuple[dict[str, Any], dict[str, Path], str]:
    """The arrays of several files merged, as ``load_layout`` returns them; with ``one_per_file`` each file must hold
    one array named like the file (DSCMR's ``train_img.mat`` -> ``train_img``).

    Raises:
        DataError: a file of a one-array-per-file folder with other keys, or a key in two files (both named).
    """
    arrays: dict[str, Any] = {}
    where: dict[str, Path] = {}
    for f in files:
        got = load_arrays(f)
        if one_per_file and (len(got) != 1 or f.stem not in got):
            raise DataError(
                f"feature file {f}: holds keys {sorted(got)}; in a folder of one-array files (DSCMR layout) each "
                f"file holds one array named like the file ({f.stem!r})"
            )
        for k, v in got.items():
            if k in arrays:
                raise DataError(f"feature files {where[k]} and {f} both hold an array {k!r}; keep one")
            arrays[k], where[k] = v, f
    return arrays, where, "one array per file"


def load_wikipedia(mat: Path, arrays: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Path], str]:
    """Rasiwasia et al.'s ``raw_features.mat`` + category lists -> ``train_img``, ``train_txt``, ``train_labels``...
    (as ``load_layout`` returns them; ``arrays``: the ``.mat`` file's arrays when already read).

    Raises:
        DataError: a missing category list, or one whose length or lines do not match its array (the list named).
    """
    arrays = load_arrays(mat) if arrays is None else arrays
    out: dict[str, Any] = {}
    where: dict[str, Path] = {}
    for src, dst in WIKI_KEYS.items():
        if src in arrays:
            out[dst], where[dst] = arrays[src], mat
    for split, name in WIKI_LISTS.items():
        lst = mat.parent / name
        keys = [k for k in (f"{split}_img", f"{split}_txt") if k in out]
        if not keys:
            continue
        if not lst.is_file():
            raise DataError(
                f"Wikipedia features {mat}: missing {lst}; expected one line '<text_id> <image_id> <category 1..10>' "
                f"per row of {[k for k, v in WIKI_KEYS.items() if v in keys]}"
            )
        out[f"{split}_labels"], where[f"{split}_labels"] = _wiki_labels(lst, len(_dense(out[keys[0]]))), lst
    return out, where, "Wikipedia"


def _wiki_labels(lst: Path, n_rows: int) -> np.ndarray:
    lines = [ln for ln in lst.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) != n_rows:
        raise DataError(f"Wikipedia list {lst}: {len(lines)} lines but its feature arrays have {n_rows} rows "
                        "(expected one line per row, in row order)")  # fmt: skip
    labels = []
    for i, ln in enumerate(lines, start=1):
        parts = ln.split()
        if len(parts) != 3 or not parts[2].lstrip("+-").isdigit() or not 1 <= int(parts[2]) <= 10:
            raise DataError(f"Wikipedia list {lst} line {i}: {ln!r}; expected '<text_id> <image_id> <category 1..10>'")
        labels.append(int(parts[2]) - 1)
    return np.asarray(labels, dtype=np.int64)


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

    def __init__(
        self, path: str | os.PathLike[str] | list[str], split: str = "train", modality: str | None = None
    ) -> None:
        self._given = path
        first = path[0] if isinstance(path, list | tuple) and path else path
        self.path = Path(first) if isinstance(first, str | os.PathLike) else Path(".")  # load_layout names bad input
        root = self.path if self.path.is_dir() else self.path.parent
        super().__init__(root, split, None)
        all_mods = self.modalities()
        if modality is not None and modality not in all_mods:
            raise ConfigError(
                f"feature file {self.path}: split {split!r} has no modality {modality!r}; available: {list(all_mods)}"
            )
        self.modality = modality
        mods = (modality,) if modality is not None else all_mods  # only the chosen modality is checked
        self._features = {m: self._feature_array(m) for m in mods}  # {m: (N, F_m) float32}
        n = {m: len(a) for m, a in self._features.items()}
        ref = mods[0]
        for m in mods[1:]:
            if n[m] != n[ref]:
                raise DataError(
                    f"feature file {self._file(self._key(m))}: array {self._key(m)!r} has {n[m]} rows but "
                    f"{self._key(ref)!r} has {n[ref]}; the modalities of split {split!r} must be paired row by row"
                )
        self._labels = {m: self._label_vector(m, n[ref]) for m in mods}  # {m: (N,) int64}
        if (self._labels[ref] < 0).all():
            logger.warning(
                "%s: split %r has no label array (looked for %r, %r); every label is -1 (unlabelled)",
                self._file(self._key(ref)),
                split,
                f"{split}_{ref}_lab",
                f"{split}_labels",
            )
        if modality is None:
            for m in mods[1:]:
                if not np.array_equal(self._labels[m], self._labels[ref]):
                    raise DataError(
                        f"feature file {self._file(self._key(m))}: the labels of {self._key(m)!r} and "
                        f"{self._key(ref)!r} differ; "
                        "paired items (modality=None) need equal labels; pick one modality"
                    )
        self.labels: np.ndarray = self._labels[modality or ref]  # (N,)
        self.domain = modality or "+".join(mods)

    def validate_layout(self) -> None:
        """Loads the file and groups its keys into splits, modalities and label arrays."""
        given = self._given
        if isinstance(given, str | os.PathLike) and not Path(given).exists():
            raise DataError(f"feature file {given}: not found; expected a .npz/.mat file or a folder of them")
        self._arrays, self._files, self.layout = load_layout(given)
        self._group_keys()

    def _group_keys(self) -> None:
        """Groups ``self._arrays``' keys into splits, modalities and label arrays (the key layout)."""
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
                            f"expected {LAYOUT}; accepted layouts: {'; '.join(LAYOUTS)}")  # fmt: skip
        for (split, mod), key in self._mod_labels.items():
            if mod not in self._mods.get(split, {}):
                logger.warning("%s: label array %r has no feature array %r", self.path, key, f"{split}_{mod}")

    def _file(self, key: str) -> Path:
        """The file that holds array ``key`` (for messages)."""
        return self._files.get(key, self.path)

    def check_split(self, split: str) -> str:
        """``split`` if the file has it; else a ``ConfigError`` naming the file, the splits and the layouts."""
        splits = self.get_available_splits()
        if split not in splits:
            raise ConfigError(
                f"feature file {self.path}: unknown split {split!r}; available: {list(splits)} (read as the "
                f"{self.layout!r} layout; accepted layouts: {'; '.join(LAYOUTS)})"
            )
        return split

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
        if modality not in self._features:  # another modality than the chosen one: checked when first asked for
            self._features[modality] = self._feature_array(modality)
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
        f = self._file(key)
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
            raise DataError(f"feature file {f}: array {key!r} has shape {a.shape}; expected {expected}")
        if a.dtype.kind not in "fiu":
            raise DataError(f"feature file {f}: array {key!r} has dtype {a.dtype}; expected {expected}")
        a = np.ascontiguousarray(a, dtype=np.float32)
        if not np.isfinite(a).all():
            row = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise DataError(f"feature file {f}: array {key!r} has NaN/inf values (first in row {row})")
        return a

    def _label_vector(self, modality: str, n: int) -> np.ndarray:
        key = self._mod_labels.get((self.split, modality)) or self._split_labels.get(self.split)
        if key is None:
            own = sorted(k for (s, _), k in self._mod_labels.items() if s == self.split)
            key = own[0] if own else None
        if key is None:
            return np.full(n, -1, dtype=np.int64)
        a = _dense(self._arrays[key])
        where = f"feature file {self._file(key)}: label array {key!r}"
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
