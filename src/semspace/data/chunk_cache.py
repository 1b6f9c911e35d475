"""ChunkCache: rows computed in order, kept on disk one chunk at a time, so a killed computation resumes.

A slow per-item computation (frozen-encoder features of every image, ``models/frozen_features.py``) writes its
rows in numbered chunks as it goes: ``<folder>/chunk-000000.npz`` holds rows ``[0, chunk)`` (an ``(B, F)`` array
and the rows' JSON fields), each file written atomically (``utils.io.atomic_write``: a kill leaves whole chunks
only). ``<folder>/manifest.json`` holds the key (what the rows are a function of: the caller's spec, the number of
rows, the chunk size); a folder with another key is emptied before the first chunk is written, so a changed
encoder or dataset is recomputed, never mixed with stale rows. The caller names the folder by a digest of its
spec, so two specs never share one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from semspace.utils.io import atomic_write, atomic_write_text

MANIFEST = "manifest.json"


class ChunkCache:
    """Rows ``[0, n)`` in chunks of ``chunk`` rows under ``folder``, valid for ``key`` (module docstring).

    Args:
        folder: the cache folder (created on the first write); None keeps nothing (every chunk is missing).
        key: JSON-able description of what the rows are a function of; another key invalidates the folder.
        n: the number of rows.
        chunk: rows per chunk file.

    Example:
        >>> cache = ChunkCache("runs/cache/ff/1a2b", {"spec": spec}, n=1000, chunk=256)
        >>> for i in cache.missing():
        ...     cache.write(i, feats, fields)
        >>> features, fields = cache.load_all()
    """

    def __init__(self, folder: str | os.PathLike[str] | None, key: dict[str, Any], *, n: int, chunk: int) -> None:
        if chunk < 1:
            raise ValueError(f"ChunkCache: chunk must be >= 1, got {chunk}")
        self.folder = Path(folder) if folder is not None else None
        self.n, self.chunk = int(n), int(chunk)
        self.key = json.loads(json.dumps({**key, "n": self.n, "chunk": self.chunk}, sort_keys=True, default=str))
        self.num_chunks = -(-self.n // self.chunk)
        self._checked = False

    def bounds(self, i: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of chunk ``i``."""
        return i * self.chunk, min((i + 1) * self.chunk, self.n)

    def path(self, i: int) -> Path:
        assert self.folder is not None
        return self.folder / f"chunk-{i:06d}.npz"

    def _valid(self) -> bool:
        """True when the folder's manifest holds this cache's key (its chunks are this computation's rows)."""
        if self.folder is None:
            return False
        try:
            return bool(json.loads((self.folder / MANIFEST).read_text(encoding="utf-8")) == self.key)
        except (OSError, ValueError):
            return False

    def missing(self) -> list[int]:
        """The chunks still to compute (all of them when the folder holds another key)."""
        valid = self._valid()
        return [i for i in range(self.num_chunks) if not (valid and self.path(i).is_file())]

    def write(self, i: int, rows: np.ndarray, fields: list[dict[str, Any]]) -> None:
        """Stores chunk ``i``: ``rows`` (B, F) and the B rows' JSON fields; the first write claims the folder."""
        start, stop = self.bounds(i)
        if len(rows) != stop - start or len(fields) != stop - start:
            raise ValueError(f"ChunkCache: chunk {i} holds rows [{start}, {stop}), got {len(rows)} and {len(fields)}")
        if self.folder is None:
            return
        if not self._checked:
            if not self._valid():  # another key (or none): drop its chunks, then claim the folder
                for old in self.folder.glob("chunk-*.npz"):
                    old.unlink()
                atomic_write_text(self.folder / MANIFEST, json.dumps(self.key, sort_keys=True) + "\n")
            self._checked = True
        with atomic_write(self.path(i)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, rows=rows, fields=np.array(json.dumps(fields)))

    def load(self, i: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Chunk ``i``: its rows (B, F) and fields."""
        with np.load(self.path(i)) as z:
            return z["rows"], json.loads(str(z["fields"]))

    def load_all(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Every row (n, F) and field, from the finished chunks (call when ``missing()`` is empty)."""
        parts = [self.load(i) for i in range(self.num_chunks)]
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 0), np.float32)
        return rows, [f for p in parts for f in p[1]]
