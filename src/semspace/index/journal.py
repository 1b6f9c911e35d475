"""``BuildJournal``: the embeddings a build has finished, on disk as it goes, so a killed build resumes.

An index build (``retrieval.indexing.build_index``) records every embedding it computes in
``<index>/building.sqlite`` (one committed transaction per batch), keyed by domain, uri, the file's size and
modification time and its content hash. The index itself changes only when the whole build lands (a new
generation, ``EmbeddingIndex.save``); if the build is killed first, the next build of the same index finds the
journal and takes each finished embedding from it instead of embedding the item again. The journal records the
model (checkpoint sha256) and the domain records it was written with and is dropped when they differ; a build that
lands forgets the entries of its own source, and the file goes once it is empty.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semspace.errors import DataError

logger = logging.getLogger(__name__)

JOURNAL_NAME = "building.sqlite"


@dataclass(frozen=True)
class JournalEntry:
    """One finished embedding of a build."""

    domain: str
    source: str
    uri: str
    size: int | None
    mtime_ns: int | None
    content_hash: str
    vector: np.ndarray  # (D,) float32


class BuildJournal:
    """The finished embeddings of unfinished builds of one index folder (see module docstring).

    Args:
        root: the index folder.
        model: what identifies the embeddings (``{"checkpoint_sha256": ..., "domains": {...}}``); a journal
            written with anything else is dropped when opened.
    """

    def __init__(self, root: str | Path, model: dict[str, Any]) -> None:
        self.path = Path(root) / JOURNAL_NAME
        self.model = json.dumps(model, sort_keys=True)
        self._conn: sqlite3.Connection | None = None
        self._rows: dict[tuple[str, str], JournalEntry] = {}
        if self.path.is_file():
            self._load()

    @staticmethod
    def exists(root: str | Path) -> bool:
        return (Path(root) / JOURNAL_NAME).is_file()

    def _load(self) -> None:
        try:
            conn = sqlite3.connect(self.path)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
                rows: list[Any] = []
                if row is None or row[0] != self.model:
                    logger.warning("%s was written with another model; its embeddings are not reused", self.path)
                else:
                    q = "SELECT domain, source, uri, size, mtime_ns, content_hash, vector FROM done"
                    rows = conn.execute(q).fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            logger.warning("%s is unreadable (%s); its embeddings are not reused", self.path, exc)
            rows = []
        if not rows:
            self.path.unlink(missing_ok=True)
        for r in rows:
            entry = JournalEntry(str(r[0]), str(r[1]), str(r[2]), r[3], r[4], str(r[5]),
                                 np.frombuffer(r[6], dtype=np.float32))  # fmt: skip
            self._rows[(entry.domain, entry.uri)] = entry

    def __len__(self) -> int:
        return len(self._rows)

    def hashes(self) -> set[str]:
        """Content hashes of the finished embeddings (their thumbnails are kept by the index's clean-up)."""
        return {e.content_hash for e in self._rows.values()}

    def lookup(self, domain: str, uri: str, size: int | None, mtime_ns: int | None) -> JournalEntry | None:
        """The finished embedding of ``uri`` when the file is still the one that was embedded."""
        entry = self._rows.get((domain, uri))
        if entry is None or (size, mtime_ns) != (entry.size, entry.mtime_ns):
            return None
        return entry

    def by_hash(self, domain: str) -> dict[str, np.ndarray]:
        """``{content hash: vector}`` of ``domain``'s finished embeddings."""
        return {e.content_hash: e.vector for e in self._rows.values() if e.domain == domain}

    def record(self, entries: list[JournalEntry]) -> None:
        """Writes ``entries`` in one transaction (the file is created on the first call)."""
        if not entries:
            return
        conn = self._connect()
        rows = [(e.domain, e.source, e.uri, e.size, e.mtime_ns, e.content_hash,
                 np.ascontiguousarray(e.vector, dtype=np.float32).tobytes()) for e in entries]  # fmt: skip
        try:
            with conn:
                conn.executemany("INSERT OR REPLACE INTO done VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: cannot record finished embeddings ({exc})") from None
        for e in entries:
            self._rows[(e.domain, e.uri)] = e

    def forget_source(self, source: str, domain: str) -> None:
        """Drops the entries of a build that landed; the file goes once no entry is left."""
        self._rows = {k: e for k, e in self._rows.items() if not (e.source == source and e.domain == domain)}
        if not self.path.is_file():
            return
        if not self._rows:
            self.close()
            self.path.unlink(missing_ok=True)
            return
        conn = self._connect()
        with conn:
            conn.execute("DELETE FROM done WHERE source = ? AND domain = ?", (source, domain))

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS done (domain TEXT NOT NULL, source TEXT NOT NULL, uri TEXT NOT NULL,"
                    " size INTEGER, mtime_ns INTEGER, content_hash TEXT NOT NULL, vector BLOB NOT NULL,"
                    " PRIMARY KEY (domain, uri))"
                )
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (self.model,))
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
