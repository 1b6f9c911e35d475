"""A sidecar file of item fields: metadata attached to a source's items at build time (issue 21: filters).

``semspace index build --data folder:DIR --fields FILE`` reads ``FILE`` as one of:

* **CSV** (``.csv``, ``.tsv``): a header row with a ``path`` column; every other column is a field. Empty cells are
  no field. Values stay text; ``index.fields`` compares them as numbers where they read as numbers.
* **JSON Lines** (``.jsonl``, ``.ndjson``): one object per line with a ``path`` key; every other key is a field
  (strings, numbers and booleans; nested values are refused).

A ``path`` is the item's file: absolute, or relative to the source's folder (``folder:DIR``), else to the sidecar's
own folder. The fields replace the item's fields at every build (``EmbeddingIndex.set_fields``; a build that
reads the same sidecar again changes nothing). ``index.fields`` says how a search filters by them.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from semspace.errors import DataError
from semspace.index.fields import BUILT_IN

PATH_KEY = "path"


def read_sidecar(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{absolute path: {field: value}}`` from a sidecar file (module docstring).

    Raises:
        DataError: the file is missing, of an unknown kind, or a row lacks ``path``, repeats one, or names a reserved
            field (the message names the file, the line and what was expected).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"fields file {p} does not exist; give a .csv or .jsonl file with a 'path' column")
    base = Path(root) if root is not None and Path(root).is_dir() else p.parent
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv"):
        rows = _csv_rows(p, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(p)
    else:
        raise DataError(f"fields file {p}: unknown kind {suffix!r}; expected .csv, .tsv, .jsonl or .ndjson")
    out: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        where = f"{p}, line {line}"
        name = row.pop(PATH_KEY, None)
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{where}: no '{PATH_KEY}' (every row names the item's file, relative to {base})")
        reserved = sorted(k for k in row if k in BUILT_IN)
        if reserved:
            raise DataError(f"{where}: field(s) {reserved} are reserved (a filter reads them from the item itself)")
        item = Path(name.strip())
        key = os.path.realpath(item if item.is_absolute() else base / item)
        if key in out:
            raise DataError(f"{where}: {name!r} is listed twice")
        out[key] = {k: v for k, v in row.items() if v not in ("", None)}
    return out


def _csv_rows(path: Path, delimiter: str) -> list[tuple[int, dict[str, Any]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if reader.fieldnames is None or PATH_KEY not in reader.fieldnames:
            raise DataError(f"{path}: the header has no '{PATH_KEY}' column (got {reader.fieldnames})")
        return [(reader.line_num, {k: v for k, v in row.items() if k is not None}) for row in reader]


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {line}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {line}: expected an object with a '{PATH_KEY}' key")
            nested = sorted(k for k, v in row.items() if isinstance(v, dict | list))
            if nested:
                raise DataError(f"{path}, line {line}: field(s) {nested} are nested; give text, numbers or booleans")
            rows.append((line, row))
    return rows
