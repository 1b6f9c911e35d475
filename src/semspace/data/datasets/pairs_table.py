"""``pairs_table``: (image, text[, label][, split]) pairs from a CSV/TSV or JSONL file (DESIGN §4).

The format users bring for image-text retrieval. A CSV needs a header naming at least the columns
``image`` and ``text`` (``label`` and ``split`` are optional, extra columns are ignored); a JSONL file
holds one object per line with the same fields. Image paths are relative to the table's folder (or
to ``root``); absolute paths are used as they are.

The whole table is parsed and checked in ``__init__`` (columns, one value per field, label types),
and a bad row is reported with its line number and field. Image files are only opened in
``__getitem__``, so a huge table opens at once; a missing image names the line and the path.

Labels: when every non-empty label is an integer, it is used as is (-1 = unlabelled); otherwise
labels are class names, numbered by their sorted order over the whole table (so every split
shares one numbering) and ``KEY`` is the name.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semspace.data.base import BaseDataset
from semspace.data.registry import DATASETS
from semspace.errors import DataError
from semspace.types import IMAGE, KEY, LABEL, PATH, TEXT

logger = logging.getLogger(__name__)

REQUIRED = ("image", "text")
OPTIONAL = ("label", "split")
_COLS = "columns image, text (optional: label, split)"
_INT = re.compile(r"^[+-]?\d+$")
_FORMATS = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}


@dataclass(frozen=True)
class _Row:
    line: int  # 1-based line of the row in the file (for messages)
    image: str
    text: str
    label: int | str | None
    split: str | None


@DATASETS.register("pairs_table")
class PairsTableDataset(BaseDataset):
    """Image-text pairs listed in a CSV/TSV/JSONL table.

    Items: ``IMAGE``, ``TEXT`` (str), ``LABEL`` (int, -1 when unlabelled), ``KEY`` (class name or the
    label as text, "" when unlabelled), ``PATH`` (str), ``INDEX``.

    Args:
        path: the ``.csv``, ``.tsv``, ``.jsonl`` or ``.ndjson`` file.
        split: ``"all"`` or a value of the table's ``split`` column.
        transform: image transform (``build_transform(cfg)``).
        root: the folder image paths are relative to (default: the table's folder).

    Raises:
        DataError: the file is missing or unreadable, a required column is missing, or a row is bad
            (the message names the file, the line and the field).
        ConfigError: ``split`` is not ``"all"`` nor a value of the ``split`` column.
    """

    available_splits = ("all",)

    def __init__(
        self,
        path: str | os.PathLike[str],
        split: str = "all",
        transform: Callable[[Any], Any] | None = None,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(path)
        super().__init__(root if root is not None else self.path.parent, split, transform)
        self.rows = [r for r in self._all_rows if split == "all" or r.split == split]
        self.texts: list[str] = [r.text for r in self.rows]
        self.labels = np.array([self._label_id(r.label) for r in self.rows], dtype=np.int64)  # (N,)

    # ---- parsing ------------------------------------------------------------------------------------
    def validate_layout(self) -> None:
        """Parses and checks the whole table (columns, fields, labels)."""
        if not self.path.is_file():
            what = "is a folder" if self.path.is_dir() else "not found"
            raise DataError(f"pairs table {self.path}: {what}; expected a .csv/.tsv/.jsonl file of (image, text) rows")
        self.require(".", "the folder that image paths in the table are relative to", kind="dir")
        suffix = self.path.suffix.lower()
        if suffix not in _FORMATS:
            raise DataError(f"pairs table {self.path}: unsupported suffix {suffix!r}; expected one of {list(_FORMATS)}")
        try:
            delim = _FORMATS[suffix]
            rows = self._read_jsonl() if delim is None else self._read_csv(delim)
        except UnicodeDecodeError as exc:
            raise DataError(f"pairs table {self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if not rows:
            raise DataError(f"pairs table {self.path}: no rows; expected at least one (image, text) row")
        self._all_rows = rows
        self._set_label_kind(rows)

    def _read_csv(self, delim: str) -> list[_Row]:
        with open(self.path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delim)
            try:
                header = next(reader, None)
                if header is None:
                    raise DataError(f"pairs table {self.path}: empty file; expected a header line with {_COLS}")
                cols = [c.strip().lower() for c in header]
                missing = [c for c in REQUIRED if c not in cols]
                if missing:
                    raise DataError(
                        f"pairs table {self.path}: missing column(s) {missing}; found {cols}; expected {_COLS}"
                    )
                dup = sorted({c for c in cols if c in REQUIRED + OPTIONAL and cols.count(c) > 1})
                if dup:
                    raise DataError(f"pairs table {self.path}: column(s) {dup} appear more than once in the header")
                rows = []
                line = reader.line_num + 1  # where the next record starts (a quoted field may span lines)
                for values in reader:
                    line, start = reader.line_num + 1, line
                    if not any(v.strip() for v in values):
                        continue  # blank line
                    if len(values) != len(cols):
                        raise DataError(
                            f"pairs table {self.path} line {start}: expected {len(cols)} fields ({', '.join(cols)}), "
                            f"got {len(values)}"
                        )
                    rec = dict(zip(cols, values, strict=True))
                    rows.append(self._make_row(start, {k: v.strip() for k, v in rec.items()}))
            except csv.Error as exc:
                raise DataError(f"pairs table {self.path} line {reader.line_num}: malformed CSV: {exc}") from None
        return rows

    def _read_jsonl(self) -> list[_Row]:
        rows = []
        with open(self.path, encoding="utf-8-sig") as fh:
            for line, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise DataError(f"pairs table {self.path} line {line}: not valid JSON: {exc.msg}") from None
                if not isinstance(rec, dict):
                    raise DataError(
                        f"pairs table {self.path} line {line}: expected a JSON object with {_COLS}, "
                        f"got {type(rec).__name__}"
                    )
                missing = [c for c in REQUIRED if c not in rec]
                if missing:
                    raise DataError(
                        f"pairs table {self.path} line {line}: missing field(s) {missing}; found {sorted(rec)}"
                    )
                rows.append(self._make_row(line, rec))
        return rows

    def _make_row(self, line: int, rec: dict[str, Any]) -> _Row:
        def bad(field: str, expected: str) -> DataError:
            return DataError(
                f"pairs table {self.path} line {line}: field {field!r} is {rec.get(field)!r}; expected {expected}"
            )

        image, text = rec["image"], rec["text"]
        if not isinstance(image, str) or not image.strip():
            raise bad("image", "a non-empty image path")
        if not isinstance(text, str):
            raise bad("text", "a string")
        label = rec.get("label")
        if isinstance(label, str):
            label = label.strip()
            label = None if label == "" else int(label) if _INT.match(label) else label
        if label is not None and (isinstance(label, bool) or not isinstance(label, (int, str))):
            raise bad("label", "an integer class id or a class name")
        if isinstance(label, int) and label < -1:
            raise bad("label", "an integer >= -1 (-1 = unlabelled) or a class name")
        split = rec.get("split")
        if split is not None and not isinstance(split, str):
            raise bad("split", "a split name such as 'train' or 'test'")
        return _Row(line, image.strip(), text, label, (split.strip() or None) if split else None)

    def _set_label_kind(self, rows: list[_Row]) -> None:
        ints = [r for r in rows if isinstance(r.label, int)]
        names = [r for r in rows if isinstance(r.label, str)]
        if ints and names:
            first_int, first_name = ints[0], names[0]
            raise DataError(
                f"pairs table {self.path}: column 'label' mixes integers (line {first_int.line}: {first_int.label}) "
                f"and class names (line {first_name.line}: {first_name.label!r}); use one kind"
            )
        self.classes: tuple[str, ...] = tuple(sorted({str(r.label) for r in names}))
        self._class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _label_id(self, label: int | str | None) -> int:
        if label is None:
            return -1
        return self._class_to_idx[label] if isinstance(label, str) else label

    def get_available_splits(self) -> tuple[str, ...]:
        """``"all"`` plus every value of the ``split`` column."""
        return ("all", *sorted({r.split for r in self._all_rows if r.split}))

    # ---- items --------------------------------------------------------------------------------------
    def resolve(self, image: str) -> Path:
        """The file an ``image`` field points to (absolute, or relative to ``root``)."""
        p = Path(image)
        return p if p.is_absolute() else self.root / p

    def __len__(self) -> int:
        return len(self.rows)

    def get_item(self, idx: int) -> dict[str, Any]:
        row = self.rows[idx]
        path = self.resolve(row.image)
        if not path.is_file():
            raise DataError(
                f"pairs table {self.path} line {row.line}: image file not found: {path} (field 'image' = {row.image!r})"
            )
        try:
            image = self.read_image(path)
        except DataError as exc:
            raise DataError(f"pairs table {self.path} line {row.line}: {exc}") from None
        key = "" if row.label is None else str(row.label)
        return {IMAGE: image, TEXT: row.text, LABEL: int(self.labels[idx]), KEY: key, PATH: str(path)}
