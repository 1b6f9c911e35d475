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
import secrets
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

    Nothing is read whole: lookups query the file by key, so a resumed build of 10^6 items holds no more of the
    journal in memory than the batch it is on (issue 19: flat memory).

    Args:
        root: the index folder.
        model: what identifies the embeddings (``{"checkpoint_sha256": ..., "domains": {...}}``); a journal
            written with anything else is dropped when opened.
    """

    def __init__(self, root: str | Path, model: dict[str, Any]) -> None:
        self.path = Path(root) / JOURNAL_NAME
        self.model = json.dumps(model, sort_keys=True)
        self._conn: sqlite3.Connection | None = None
        self.build = secrets.token_hex(8)  # this build's entries, told apart from an earlier, killed build's
        if self.path.is_file() and not self._reusable():
            self.path.unlink(missing_ok=True)

    @staticmethod
    def exists(root: str | Path) -> bool:
        return (Path(root) / JOURNAL_NAME).is_file()

    def _reusable(self) -> bool:
        """Whether the journal on disk was written with this model and holds entries (else it is dropped)."""
        try:
            conn = sqlite3.connect(self.path)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
                if row is None or row[0] != self.model:
                    logger.warning("%s was written with another model; its embeddings are not reused", self.path)
                    return False
                if "build" not in {r[1] for r in conn.execute("PRAGMA table_info(done)")}:
                    return False  # written by an older semspace
                return conn.execute("SELECT 1 FROM done LIMIT 1").fetchone() is not None
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            logger.warning("%s is unreadable (%s); its embeddings are not reused", self.path, exc)
            return False

    def _rows(self, query: str, args: tuple[Any, ...] = ()) -> list[Any]:
        if self._conn is None and not self.path.is_file():
            return []
        return self._connect().execute(query, args).fetchall()

    def __len__(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM done")[0][0]) if self.path.is_file() else 0

    def hashes(self) -> set[str]:
        """Content hashes of the finished embeddings (their thumbnails are kept by the index's clean-up)."""
        return {r[0] for r in self._rows("SELECT DISTINCT content_hash FROM done")}

    def vectors_for(self, domain: str, hashes: list[str]) -> dict[str, tuple[np.ndarray, bool]]:
        """``{content hash: (vector, mine)}`` of ``domain``'s finished embeddings among ``hashes``; ``mine``: this
        build embedded it (a copy of an earlier item), else a killed build did (resumed)."""
        out: dict[str, tuple[np.ndarray, bool]] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            q = f"SELECT content_hash, vector, build FROM done WHERE domain = ? AND content_hash IN ({marks})"
            rows = self._rows(q, (domain, *chunk))
            out.update({str(r[0]): (np.frombuffer(r[1], dtype=np.float32), r[2] == self.build) for r in rows})
        return out

    def record(self, entries: list[JournalEntry]) -> None:
        """Writes ``entries`` in one transaction (the file is created on the first call)."""
        if not entries:
            return
        conn = self._connect()
        rows = [(e.domain, e.source, e.uri, e.size, e.mtime_ns, e.content_hash,
                 np.ascontiguousarray(e.vector, dtype=np.float32).tobytes(), self.build) for e in entries]  # fmt: skip
        try:
            with conn:
                conn.executemany("INSERT OR REPLACE INTO done VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: cannot record finished embeddings ({exc})") from None

    def forget_source(self, source: str, domain: str) -> None:
        """Drops the entries of a build that landed; the file goes once no entry is left."""
        if not self.path.is_file():
            return
        conn = self._connect()
        with conn:
            conn.execute("DELETE FROM done WHERE source = ? AND domain = ?", (source, domain))
        if conn.execute("SELECT 1 FROM done LIMIT 1").fetchone() is None:
            self.close()
            self.path.unlink(missing_ok=True)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path)
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS done (domain TEXT NOT NULL, source TEXT NOT NULL, uri TEXT NOT NULL,"
                    " size INTEGER, mtime_ns INTEGER, content_hash TEXT NOT NULL, vector BLOB NOT NULL,"
                    " build TEXT NOT NULL, PRIMARY KEY (domain, uri))"
                )
                conn.execute("CREATE INDEX IF NOT EXISTS done_hash ON done (domain, content_hash)")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (self.model,))
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
