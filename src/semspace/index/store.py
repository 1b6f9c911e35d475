"""SQLite metadata of an index: what each vector is, and which model made them (DESIGN §5, STYLE F.20).

Faiss stores only vectors and int64 ids. ``ItemStore`` maps each id to its item (domain, URI, label, caption,
content hash, and for synced sources the source it came from with the file's size and modification time: one
item per path of a source, several paths may share a content hash), keeps every distinct embedding once per
(domain, content hash) in ``vectors`` (so a copy, a renamed file or a factory change needs no re-embedding and
removal works for every faiss factory by rebuilding from them), counts ids in ``meta`` (never reused),
records the model that produced the vectors (checkpoint path and sha256, task name, embedding dimension,
semspace version) and one row per **collection**, the domain its items were embedded as (``domains``: name,
input kind, embedding width and the record's JSON with its preprocessing), so that a query made with another
model or another preprocessing fails with a clear error and one index can hold several domains. The schema
evolves through numbered migration functions, applied in order and counted in ``PRAGMA user_version`` (the
shape of ``llm``'s ``embeddings_migrations.py``); a database written by semspace 0.1.0 (schema 3) gains its
``domains`` table from ``m004``: 0.1.0 indexed images only, with the one preprocessing of the model record.

Searches may read one store from several threads (SQLite is serialized); writes belong to one thread.
Where the database lives (``index.store_files``): opened with ``staging=`` (the index folder), a published
generation's file is read in place and copied into a private staging file only when it is first changed; ``publish``
renames that file into the next generation. Without ``staging`` (or for a file of an older schema, which is migrated)
the store works on an in-memory copy and ``save(path)`` writes it atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semspace.errors import DataError
from semspace.index.fields import changed as changed_fields
from semspace.index.fields import remove_fields, set_fields
from semspace.index.migrations import MIGRATIONS, migrate
from semspace.index.store_files import StagingFile, connect_published, connect_staging, link_or_copy
from semspace.utils.io import atomic_write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """The model an index was built with; two infos are compatible when ``fingerprint()`` is equal."""

    checkpoint: str  # path of the checkpoint file (model.pt) when the index was built
    checkpoint_sha256: str  # sha256 of that file's bytes: the identity of the weights
    task: str  # registry name of the task (align, transfer, ...)
    embed_dim: int  # dimension of the shared space
    semspace_version: str = ""  # semspace version that built the index

    def fingerprint(self) -> tuple[str, str, int]:
        """What must match between an index and a query model (the path and version may differ; each domain's
        preprocessing is checked against the index's collections)."""
        return self.checkpoint_sha256, self.task, int(self.embed_dim)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        """Inverse of ``to_dict``; a record without the identifying keys is a ``DataError``."""
        missing = [k for k in ("checkpoint", "checkpoint_sha256", "task", "embed_dim") if k not in d]
        if missing:
            raise DataError(f"model record lacks {missing}; expected the keys of ModelInfo")
        return cls(
            checkpoint=str(d["checkpoint"]),
            checkpoint_sha256=str(d["checkpoint_sha256"]),
            task=str(d["task"]),
            embed_dim=int(d["embed_dim"]),
            semspace_version=str(d.get("semspace_version", "")),
        )


# SQLite's default 4 KiB pages hold one 512-d float32 embedding (2 KiB + header) each, half empty: 16 KiB pages
# hold seven (measured: 628 MB for 100,000 items with 4 KiB pages; benchmarks/results/index_store.md has the size now)
PAGE_SIZE = 16384
ITEM_COLUMNS = ("id", "domain", "uri", "label", "caption", "content_hash", "source", "size", "mtime_ns")
_MARKS = ", ".join("?" * len(ITEM_COLUMNS))


def _item_row(it: dict[str, Any]) -> tuple[Any, ...]:
    """An item dict as a row of ``ITEM_COLUMNS`` (text fields default to ``''``, size and mtime to NULL)."""

    def text(key: str) -> str:
        return str(it.get(key, ""))

    def number(key: str) -> int | None:
        value = it.get(key)
        return None if value is None else int(value)

    return (int(it["id"]), str(it["domain"]), text("uri"), text("label"), text("caption"), str(it["content_hash"]),
            text("source"), number("size"), number("mtime_ns"))  # fmt: skip


class ItemStore:
    """Items and model record of one index, held in memory and saved atomically.

    Args:
        conn: an open connection (use ``ItemStore.open``).
        name: how to call the database in messages (its path).
    """

    def __init__(self, conn: sqlite3.Connection, name: str = "<memory>", *, staging_root: Path | None = None,
                 published: Path | None = None, staging: StagingFile | None = None) -> None:  # fmt: skip
        self.conn, self.name = conn, name
        self.conn.row_factory = sqlite3.Row
        self._staging_root = staging_root  # where a changed published store is copied to (None: in memory)
        self._published = published  # the published file ``conn`` reads, unchanged (writes copy it first)
        self._staging = staging  # this writer's staging file, which ``conn`` writes
        self._unpublish: Callable[[], None] | None = None  # undoes the last publish's rename
        if _schema_version(self.conn) == 0:  # a new database: pages that hold several 2 KiB embeddings each
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        migrate(self.conn, name)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, staging: str | os.PathLike[str] | None = None
             ) -> ItemStore:  # fmt: skip
        """Opens the database ``path`` (a new, empty store when ``path`` is None).

        Args:
            path: a published item database.
            staging: the index folder: ``path`` is read in place and copied into a staging file there when it is
                first changed, and a new store starts in a staging file (module docstring). None: in memory.

        Raises:
            DataError: the file is missing or is not a SQLite database.
        """
        root = Path(staging) if staging is not None and Path(staging).is_dir() else None
        if path is None:
            if root is None:
                return cls(sqlite3.connect(":memory:", check_same_thread=False))  # read by a service's threads
            new = StagingFile(root)
            return cls(connect_staging(new.path), str(new.path), staging_root=root, staging=new)
        p = Path(path)
        if not p.is_file():
            raise DataError(f"item database {p} does not exist")
        try:
            src = connect_published(p)
            if root is not None and _schema_version(src) == len(MIGRATIONS):
                return cls(src, str(p), staging_root=root, published=p)
            mem = sqlite3.connect(":memory:", check_same_thread=False)
            try:  # an older schema is migrated in memory (an old index is small: the flat layout)
                src.backup(mem)
            finally:
                src.close()
            return cls(mem, str(p))
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{p}: not a readable SQLite item database ({exc})") from None

    def _writable(self) -> None:
        """Before a change: a published store is copied into a staging file first (module docstring)."""
        if self._published is None or self._staging_root is None:
            return
        new = StagingFile(self._staging_root)
        dst = connect_staging(new.path)
        try:
            self.conn.backup(dst)
        except BaseException:
            dst.close()
            new.discard()
            raise
        self.conn.close()
        self.conn, self._published, self._staging, self.name = dst, None, new, str(new.path)
        self.conn.row_factory = sqlite3.Row

    def publish(self, path: str | os.PathLike[str]) -> None:
        """Makes ``path`` (in a new generation's folder) hold this store, which is then published: a staging file
        is renamed there, an unchanged published file hard-linked, an in-memory store written. Not atomic by itself:
        ``EmbeddingIndex.save`` publishes into a folder that becomes current only afterwards."""
        dst = Path(path)
        if self._staging is not None:
            self.conn.commit()
            os.replace(self._staging.path, dst)  # the connection follows the file (same inode)
            self._staging.release()
            self._staging, self._published, self.name = None, dst, str(dst)
            self._unpublish = lambda: self._take_back(dst)
        elif self._published is not None:
            link_or_copy(self._published, dst)
        else:
            self.write(dst)

    def unpublish(self) -> None:
        """Undoes the last ``publish`` when the save failed before its switch (the staging file is moved back out of
        the generation folder that is about to be removed); a no-op when it renamed nothing."""
        undo, self._unpublish = self._unpublish, None
        if undo is not None:
            undo()

    def _take_back(self, published: Path) -> None:
        assert self._staging_root is not None
        new = StagingFile(self._staging_root)
        os.replace(published, new.path)
        self._staging, self._published, self.name = new, None, str(new.path)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Copies the whole database into a new file ``path`` (not atomic: see ``save``)."""
        dst = sqlite3.connect(os.fspath(path))
        try:
            self.conn.backup(dst)
        finally:
            dst.close()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the whole database to ``path`` atomically (temporary file, then ``os.replace``)."""
        with atomic_write(path) as tmp:
            self.write(tmp)
        return Path(path)

    def close(self) -> None:
        self.conn.close()
        if self._staging is not None:
            self._staging.discard()
            self._staging = None

    # ---- model ------------------------------------------------------------------------------------
    def set_model(self, info: ModelInfo) -> None:
        """Records the model that produced the vectors (replacing any previous record)."""
        self._writable()
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO model VALUES (1, ?, ?, ?, ?, ?, ?)",
                (info.checkpoint, info.checkpoint_sha256, info.task, int(info.embed_dim),
                 "{}", info.semspace_version),  # preprocess: per collection now (the domains table)
            )  # fmt: skip

    def get_model(self) -> ModelInfo | None:
        row = self.conn.execute("SELECT * FROM model WHERE id = 1").fetchone()
        if row is None:
            return None
        return ModelInfo.from_dict(dict(row))

    # ---- collections (one per domain) -------------------------------------------------------------
    def set_domain(self, record: dict[str, Any]) -> None:
        """Records a collection (a ``DomainSpec.to_dict()``: ``name``, ``kind``, ``embed_dim``, ...)."""
        self._writable()
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO domains VALUES (?, ?, ?, ?)",
                (
                    str(record["name"]),
                    str(record["kind"]),
                    int(record["embed_dim"]),
                    json.dumps(record, sort_keys=True),
                ),  # fmt: skip
            )

    def get_domains(self) -> dict[str, dict[str, Any]]:
        """``{domain: record}`` of every collection, by name."""
        rows = self.conn.execute("SELECT name, spec FROM domains ORDER BY name")
        return {r["name"]: json.loads(r["spec"]) for r in rows}

    def ids_in_domains(self, domains: Iterable[str]) -> list[int]:
        """The ids of the items of ``domains``, ascending."""
        wanted = list(dict.fromkeys(domains))
        q = f"SELECT id FROM items WHERE domain IN ({','.join('?' * len(wanted))}) ORDER BY id"
        return [int(r[0]) for r in self.conn.execute(q, wanted)] if wanted else []

    def ids_with_hashes(self, hashes: Iterable[str], domains: Iterable[str]) -> list[int]:
        """The ids of the items of ``domains`` whose content hash is one of ``hashes``, ascending."""
        hs, ds = list(dict.fromkeys(hashes)), list(dict.fromkeys(domains))
        if not hs or not ds:
            return []
        q = (f"SELECT id FROM items WHERE domain IN ({','.join('?' * len(ds))})"
             f" AND content_hash IN ({','.join('?' * len(hs))}) ORDER BY id")  # fmt: skip
        return [int(r[0]) for r in self.conn.execute(q, (*ds, *hs))]

    # ---- items ------------------------------------------------------------------------------------
    def next_id(self) -> int:
        """The id the next new item gets (ids start at 0 and are never reused, not even after a removal)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        return int(row[0])

    def has_hash(self, domain: str, content_hash: str) -> bool:
        q = "SELECT 1 FROM items WHERE domain = ? AND content_hash = ?"
        return self.conn.execute(q, (domain, content_hash)).fetchone() is not None

    def existing_hashes(self, domain: str, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` already stored for ``domain``."""
        wanted = list(dict.fromkeys(hashes))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = f"SELECT content_hash FROM items WHERE domain = ? AND content_hash IN ({','.join('?' * len(chunk))})"
            found.update(r[0] for r in self.conn.execute(q, (domain, *chunk)))
        return found

    def add_items(self, items: list[dict[str, Any]]) -> None:
        """Inserts items (dicts with ``id``, ``domain``, ``content_hash`` and optional ``uri``, ``label``,
        ``caption``, ``source``, ``size``, ``mtime_ns``) in one transaction; ``next_id`` moves past their ids.

        Raises:
            DataError: an id is already stored.
        """
        rows = [_item_row(it) for it in items]
        self._writable()
        try:
            with self.conn:
                self.conn.executemany(f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({_MARKS})", rows)
                top = max((int(it["id"]) for it in items), default=-1) + 1
                self.conn.execute("UPDATE meta SET value = MAX(CAST(value AS INTEGER), ?) WHERE key = 'next_id'",
                                  (top,))  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise DataError(f"{self.name}: an item is already stored ({exc})") from None

    def update_items(self, items: list[dict[str, Any]]) -> None:
        """Replaces the stored fields of existing items (dicts with ``id`` and the fields to set)."""
        self._writable()
        with self.conn:
            for it in items:
                cols = [c for c in ITEM_COLUMNS if c != "id" and c in it]
                if cols:
                    values = [None if it[c] is None else (int(it[c]) if c in ("size", "mtime_ns") else str(it[c]))
                              for c in cols]  # fmt: skip
                    sets = ", ".join(f"{c} = ?" for c in cols)
                    self.conn.execute(f"UPDATE items SET {sets} WHERE id = ?", (*values, int(it["id"])))

    def set_fields(self, fields_by_id: dict[int, dict[str, Any]]) -> int:
        """Replaces the fields of these items (``index.fields``); returns how many items' fields changed (the store
        is copied for writing only when some did)."""
        todo = changed_fields(self.conn, fields_by_id)
        if not todo:
            return 0
        self._writable()
        return set_fields(self.conn, todo)

    def remove_items(self, ids: Iterable[int]) -> int:
        """Deletes the items of ``ids``; returns how many existed (their vectors go with ``prune_vectors``)."""
        wanted = [int(i) for i in ids]
        removed = 0
        self._writable()
        with self.conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                cur = self.conn.execute(f"DELETE FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk)
                removed += int(cur.rowcount)
            remove_fields(self.conn, wanted)
        return removed

    def items_by_uri(
        self, domain: str, uris: Iterable[str] | None = None, source: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """``{uri: item}`` of ``domain``'s items with a non-empty uri (all of them, or those of ``uris``).

        With ``source``, only the items of that source and those added without one (``''``, which a sync adopts),
        the source's own first.
        """
        where, args = "domain = ? AND uri != ''", [domain]
        if source is not None:
            where, args = where + " AND source IN (?, '')", [domain, source]
        order = " ORDER BY (source = '') DESC, id"  # later rows win: the source's own over unsourced ones
        if uris is None:
            return {r["uri"]: dict(r) for r in self.conn.execute(f"SELECT * FROM items WHERE {where}{order}", args)}
        wanted = list(dict.fromkeys(uris))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = f"SELECT * FROM items WHERE {where} AND uri IN ({','.join('?' * len(chunk))}){order}"
            out.update({r["uri"]: dict(r) for r in self.conn.execute(q, (*args, *chunk))})
        return out

    def items_of_source(self, source: str, domain: str | None = None) -> list[dict[str, Any]]:
        """The items synced from ``source`` (into ``domain`` when given), by id."""
        q, args = "SELECT * FROM items WHERE source = ?", [source]
        if domain is not None:
            q, args = q + " AND domain = ?", [source, domain]
        return [dict(r) for r in self.conn.execute(q + " ORDER BY id", args)]

    def ids_of_source(self, source: str, domain: str) -> np.ndarray:
        """``(N,)`` int64 ids of the items of ``source`` in ``domain``, ascending, read in blocks."""
        cur = self.conn.execute("SELECT id FROM items WHERE source = ? AND domain = ? ORDER BY id", (source, domain))
        blocks = [np.array([r[0] for r in rows], dtype=np.int64) for rows in iter(lambda: cur.fetchmany(65536), [])]
        return np.concatenate(blocks) if blocks else np.zeros(0, np.int64)

    def sources(self) -> list[dict[str, Any]]:
        """``[{source, domain, items}]``: the synced sources (``''``: items added without one), by source."""
        q = "SELECT source, domain, COUNT(*) AS n FROM items GROUP BY source, domain ORDER BY source, domain"
        return [{"source": r["source"], "domain": r["domain"], "items": int(r["n"])} for r in self.conn.execute(q)]

    def content_hashes(self) -> set[str]:
        """Every content hash an item refers to (any domain)."""
        return {r[0] for r in self.conn.execute("SELECT DISTINCT content_hash FROM items")}

    def get(self, item_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (int(item_id),)).fetchone()
        return None if row is None else dict(row)

    def get_many(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{id: item}`` for the ids that exist."""
        wanted = [int(i) for i in ids]
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = f"SELECT * FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            out.update({int(r["id"]): dict(r) for r in self.conn.execute(q, chunk)})
        return out

    def hit_fields(self, ids: Iterable[int]) -> dict[int, tuple[str, str, str, str]]:
        """``{id: (domain, uri, label, caption)}`` for the ids that exist: what a search hit shows, in one query of
        plain tuples (a search's per-hit cost; ``get_many`` reads every column into a dict)."""
        wanted = [int(i) for i in ids]
        out: dict[int, tuple[str, str, str, str]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            q = f"SELECT id, domain, uri, label, caption FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            cur = self.conn.execute(q, chunk)
            cur.row_factory = None  # tuples, not sqlite3.Row
            out.update({int(r[0]): (r[1], r[2], r[3], r[4]) for r in cur})
        return out

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def domain_counts(self) -> dict[str, int]:
        """``{domain: number of items}``, largest first (ties by name)."""
        rows = self.conn.execute("SELECT domain, COUNT(*) AS n FROM items GROUP BY domain ORDER BY n DESC, domain")
        return {r["domain"]: int(r["n"]) for r in rows}

    def iter_items(self) -> Iterator[dict[str, Any]]:
        for row in self.conn.execute("SELECT * FROM items ORDER BY id"):
            yield dict(row)

    # ---- vectors (one per domain and content) -------------------------------------------------------
    def put_vectors(self, domain: str, hashes: list[str], vectors: np.ndarray) -> None:
        """Keeps ``vectors (N, D)`` float32 under ``(domain, hash)`` (a stored pair is replaced)."""
        x = np.ascontiguousarray(vectors, dtype=np.float32)  # (N, D)
        self._writable()
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(domain, h, x[i].tobytes()) for i, h in enumerate(hashes)],
            )

    def get_vectors(self, domain: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """``{hash: (D,) float32}`` for the hashes of ``domain`` that have a stored vector."""
        wanted = list(dict.fromkeys(hashes))
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            q = f"SELECT content_hash, vector FROM vectors WHERE domain = ? AND content_hash IN ({marks})"
            out.update({r[0]: np.frombuffer(r[1], dtype=np.float32) for r in self.conn.execute(q, (domain, *chunk))})
        return out

    def missing_vectors(self) -> list[tuple[int, str, str]]:
        """``(id, domain, hash)`` of the items whose (domain, hash) has no stored vector (indexes before ``m005``)."""
        q = (
            "SELECT i.id, i.domain, i.content_hash FROM items i LEFT JOIN vectors v"
            " ON v.domain = i.domain AND v.content_hash = i.content_hash WHERE v.vector IS NULL ORDER BY i.id"
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in self.conn.execute(q)]

    def iter_item_vectors(self, block: int = 32768) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(ids (n,) int64, vectors (n, D) float32)`` of every item, by id, from the stored vectors, ``block``
        items at a time (a rebuild of 10^6 items never holds them all)."""
        q = (
            "SELECT i.id, v.vector FROM items i JOIN vectors v"
            " ON v.domain = i.domain AND v.content_hash = i.content_hash ORDER BY i.id"
        )
        cur = self.conn.execute(q)
        while rows := cur.fetchmany(block):
            ids = np.array([int(r[0]) for r in rows], dtype=np.int64)  # (n,)
            yield ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])  # (n, D)

    def prune_vectors(self) -> int:
        """Deletes the stored vectors no item refers to any more; returns how many (a published store, unchanged,
        was pruned before it was published)."""
        if self._published is not None:
            return 0
        with self.conn:
            cur = self.conn.execute(
                "DELETE FROM vectors WHERE NOT EXISTS (SELECT 1 FROM items i"
                " WHERE i.domain = vectors.domain AND i.content_hash = vectors.content_hash)"
            )
        return int(cur.rowcount)

    @staticmethod
    def hashes_in(path: str | os.PathLike[str]) -> set[str]:
        """Every content hash the items of the database file ``path`` refer to, read in place (read-only, no copy);
        an unreadable or missing file gives an empty set."""
        try:
            conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
            try:
                return {r[0] for r in conn.execute("SELECT DISTINCT content_hash FROM items")}
            finally:
                conn.close()
        except sqlite3.Error:
            return set()

    def schema_version(self) -> int:
        return _schema_version(self.conn)


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
