"""Image-text benchmark feature sets in their published layouts (CHTN's and DSCMR's data; ``papers/datasets.md``).

* ``wikipedia_xmodal``: the Wikipedia benchmark (Rasiwasia et al., ACM MM 2010) as its authors distribute it: a
  folder with ``raw_features.mat`` (``I_tr`` 2173 x 128 SIFT bag of words, ``T_tr`` 2173 x 10 LDA topics,
  ``I_te`` 693 x 128, ``T_te`` 693 x 10), ``trainset_txt_img_cat.list`` / ``testset_txt_img_cat.list``
  (``<text_id> <TAB> <image_id> <TAB> <category 1..10>``, line order = row order) and ``categories.list`` (the
  names, one per line, optional); labels are ``category - 1``.
* ``pascal_sentences``: Pascal Sentences as DSCMR distributes it (``penghu-cs/DSCMR``): a folder of MATLAB files with
  **one array per file**, the only key named like the file: ``train_img`` / ``test_img`` (N x 4096 VGG-19 fc7),
  ``train_txt`` / ``test_txt`` (N x 300 Sentence-CNN), ``train_img_lab`` / ``test_img_lab`` (N x 1, 0..19). Only
  the requested split's three files are needed (with ``modality``, only its file and the labels): a missing one is
  named, and the other split still loads.
* ``nus_wide_10k``: NUS-WIDE-10k (10 concepts x 1000 pairs). There is no official file (``datasets.md``: the
  selection belongs to the CCL authors), so the loader reads NUS-WIDE's own files plus an ID list:
  ``ImageList/Imagelist.txt`` (one image path per line; the image id is the file name without extension, row r of
  every NUS-WIDE file is line r), ``NUS_WID_Tags/AllTags1k.txt`` (one line of 1000 0/1 tag values per image: the
  text), an image feature file with one row per image (``image_features``: whitespace-separated ``.dat``/``.txt``
  like NUS-WIDE's ``Low_Level_Features/*.dat``, or ``.npy``), and ``ids`` (default ``nuswide10k_ids.txt``): lines
  ``<image_id> <concept> <split>``; labels are the concepts' indices in sorted order.

All three serve paired items (``FEATURES`` = ``{"img": (F_i,), "txt": (F_t,)}``, ``modality=None``) or one modality,
like the ``features`` loader they build on, with the same checks (shapes, NaN/inf, integer labels in range, a list
whose length differs from its array) and errors that name the file, the array and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from semspace.data.datasets.features import FeatureDataset, load_merged, load_wikipedia
from semspace.data.registry import DATASETS
from semspace.errors import ConfigError, DataError

PASCAL_FILES = ("{s}_img.mat", "{s}_txt.mat", "{s}_img_lab.mat")
NUS_CONCEPTS = 81


@DATASETS.register("wikipedia_xmodal")
class WikipediaXmodalDataset(FeatureDataset):
    """The Wikipedia benchmark folder (module docstring); ``KEY`` is the category name when ``categories.list``
    is present."""

    def __init__(self, root: str | os.PathLike[str], split: str = "train", modality: str | None = None) -> None:
        folder = Path(root)
        for name in ("raw_features.mat", f"{split}set_txt_img_cat.list"):
            if not (folder / name).is_file():
                raise DataError(
                    f"wikipedia_xmodal: missing file {folder / name}; expected the Wikipedia benchmark folder "
                    "(raw_features.mat, trainset_txt_img_cat.list, testset_txt_img_cat.list)"
                )
        super().__init__(folder, split, modality)
        names = folder / "categories.list"
        self.classes = [ln.strip() for ln in names.read_text().splitlines() if ln.strip()] if names.is_file() else []
        if self.classes and int(self.labels.max()) >= len(self.classes):
            raise DataError(f"wikipedia_xmodal: {names} names {len(self.classes)} categories but the lists use "
                            f"category {int(self.labels.max()) + 1}")  # fmt: skip

    @property
    def num_classes(self) -> int:
        return len(self.classes) or 10

    def validate_layout(self) -> None:
        self._arrays, self._files, self.layout = load_wikipedia(self.path / "raw_features.mat")
        self._group_keys()

    def get_item(self, idx: int) -> dict[str, Any]:
        item = super().get_item(idx)
        if self.classes:
            item["key"] = self.classes[int(item["label"])]
        return item


@DATASETS.register("pascal_sentences")
class PascalSentencesDataset(FeatureDataset):
    """DSCMR's Pascal Sentences folder, one array per ``.mat`` file (module docstring)."""

    def __init__(self, root: str | os.PathLike[str], split: str = "train", modality: str | None = None) -> None:
        folder = Path(root)
        if not folder.is_dir():
            raise DataError(f"pascal_sentences: {folder} is not a folder; expected DSCMR's folder of .mat files")
        if split not in ("train", "test"):
            raise ConfigError(f"pascal_sentences ({folder}): unknown split {split!r}; available: ['train', 'test']")
        if modality not in (None, "img", "txt"):
            raise ConfigError(f"pascal_sentences ({folder}): unknown modality {modality!r}; available: ['img', 'txt']")
        names = PASCAL_FILES if modality is None else (f"{{s}}_{modality}.mat", "{s}_img_lab.mat")
        files = [folder / f.format(s=split) for f in names]  # one modality needs only its file and the labels
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise DataError(
                f"pascal_sentences: missing file {missing[0]}" + (f" (and {[m.name for m in missing[1:]]})"
                if len(missing) > 1 else "") + f"; split {split!r} needs {[f.name for f in files]}, one array each "
                "named like the file"
            )  # fmt: skip
        self._split_files = files
        super().__init__([str(f) for f in files], split, modality)
        self.root = folder

    @property
    def num_classes(self) -> int:
        return 20

    def validate_layout(self) -> None:
        self._arrays, self._files, self.layout = load_merged(self._split_files, one_per_file=True)
        self._group_keys()
        lab = f"{self.split}_img_lab"
        a = np.asarray(self._arrays[lab])
        if a.size and (a.dtype.kind not in "iuf" or a.min() < 0 or a.max() > 19):
            raise DataError(f"feature file {self._files[lab]}: label array {lab!r} holds values "
                            f"{a.min()}..{a.max()}; expected class ids 0..19 (N x 1)")  # fmt: skip


@DATASETS.register("nus_wide_10k")
class NusWide10kDataset(FeatureDataset):
    """NUS-WIDE-10k from NUS-WIDE's files and an ID list (module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        modality: str | None = None,
        ids: str = "nuswide10k_ids.txt",
        image_features: str = "Low_Level_Features/BoW_int.dat",
    ) -> None:
        self._nus_root, self._ids_name, self._img_name = Path(root), ids, image_features
        super().__init__(self._nus_root, split, modality)

    def validate_layout(self) -> None:
        root = self._nus_root
        paths = {"image list": root / "ImageList" / "Imagelist.txt", "tags": root / "NUS_WID_Tags" / "AllTags1k.txt",
                 "image features": root / self._img_name, "ID list": root / self._ids_name}  # fmt: skip
        missing = [f"{what} {p}" for what, p in paths.items() if not p.is_file()]
        if missing:
            raise DataError(f"nus_wide_10k: missing {'; '.join(missing)} (layout: nus_wide_10k module docstring)")
        names = [Path(ln.strip().replace("\\", "/")).stem for ln in paths["image list"].read_text().splitlines()
                 if ln.strip()]  # fmt: skip
        row_of = {n: i for i, n in enumerate(names)}
        wanted: dict[str, list[tuple[int, str]]] = {}
        for i, ln in enumerate(paths["ID list"].read_text().splitlines(), start=1):
            if not ln.strip():
                continue
            parts = ln.split()
            if len(parts) != 3:
                raise DataError(f"nus_wide_10k: {paths['ID list']} line {i}: {ln!r}; expected '<image_id> <concept> "
                                "<split>'")  # fmt: skip
            if parts[0] not in row_of:
                raise DataError(f"nus_wide_10k: {paths['ID list']} line {i}: image id {parts[0]!r} is not in "
                                f"{paths['image list']}")  # fmt: skip
            wanted.setdefault(parts[2], []).append((row_of[parts[0]], parts[1]))
        rows = sorted({r for items in wanted.values() for r, _ in items})
        img = _read_rows(paths["image features"], rows, len(names))
        tags = _read_rows(paths["tags"], rows, len(names))
        concepts = sorted({c for items in wanted.values() for _, c in items})
        self.classes = concepts
        pos = {r: i for i, r in enumerate(rows)}
        self._arrays, self._files = {}, {}
        for split, items in wanted.items():
            idx = [pos[r] for r, _ in items]
            self._arrays[f"{split}_img"], self._files[f"{split}_img"] = img[idx], paths["image features"]
            self._arrays[f"{split}_txt"], self._files[f"{split}_txt"] = tags[idx], paths["tags"]
            labels = np.array([concepts.index(c) for _, c in items], dtype=np.int64)
            self._arrays[f"{split}_labels"], self._files[f"{split}_labels"] = labels, paths["ID list"]
        self.layout = "NUS-WIDE-10k"
        self._group_keys()

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _read_rows(path: Path, rows: list[int], n_lines: int) -> np.ndarray:
    """Rows ``rows`` of a whitespace-separated matrix file (or ``.npy``) with one row per NUS-WIDE image."""
    if path.suffix.lower() == ".npy":
        a = np.load(path, mmap_mode="r", allow_pickle=False)
        if a.ndim != 2 or a.shape[0] != n_lines:
            raise DataError(f"feature file {path}: shape {a.shape}; expected ({n_lines}, F), one row per image of "
                            "ImageList/Imagelist.txt")  # fmt: skip
        return np.asarray(a[rows], dtype=np.float32)
    keep, out, width = set(rows), {}, None
    count = 0
    with open(path, encoding="utf-8") as fh:
        for i, ln in enumerate(fh):
            count += 1
            if i in keep:
                vals = ln.split()
                if width is None:
                    width = len(vals)
                if len(vals) != width:
                    raise DataError(f"feature file {path} line {i + 1}: {len(vals)} values; expected {width}")
                try:
                    out[i] = np.array(vals, dtype=np.float32)
                except ValueError:
                    raise DataError(f"feature file {path} line {i + 1}: not numbers") from None
    if count != n_lines:
        raise DataError(f"feature file {path}: {count} lines; expected {n_lines}, one per image of Imagelist.txt")
    return np.stack([out[r] for r in rows])  # (R, F)
