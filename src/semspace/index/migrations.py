"""Numbered schema migrations of an index's SQLite store, applied in order (the shape of ``llm``'s
``embeddings_migrations.py``; STYLE F.20).

``PRAGMA user_version`` counts the migrations applied; append new ones, never edit old ones. A database written by
semspace 0.1.0 (schema 3) gains its ``domains`` table from ``m004`` (0.1.0 indexed images only, with the one
preprocessing of the model record) and its sync columns, stored embeddings and id counter from ``m005``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable

from semspace.errors import DataError

logger = logging.getLogger(__name__)

# ---- migrations: append new ones, never edit old ones ----------------------------------------------------------
Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Registers ``fn`` as the next numbered migration (``m001_...``, ``m002_...``)."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_create_items(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE items ("
        " id INTEGER PRIMARY KEY, domain TEXT NOT NULL, uri TEXT NOT NULL DEFAULT '',"
        " label TEXT NOT NULL DEFAULT '', caption TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL,"
        " UNIQUE (domain, content_hash))"
    )


@migration
def m002_create_model(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE model ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), checkpoint TEXT NOT NULL, checkpoint_sha256 TEXT NOT NULL,"
        " task TEXT NOT NULL, embed_dim INTEGER NOT NULL, preprocess TEXT NOT NULL, semspace_version TEXT NOT NULL)"
    )


@migration
def m003_index_uri_label(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX items_uri ON items (uri)")
    conn.execute("CREATE INDEX items_label ON items (label)")


@migration
def m004_create_domains(conn: sqlite3.Connection) -> None:
    """One row per collection: the domain its items were embedded as. Rows of a 0.1.0 index (images only, one
    preprocessing in the model record) are filled from its items."""
    conn.execute(
        "CREATE TABLE domains ("
        " name TEXT PRIMARY KEY, kind TEXT NOT NULL, embed_dim INTEGER NOT NULL, spec TEXT NOT NULL)"
    )
    model = conn.execute("SELECT embed_dim, preprocess FROM model WHERE id = 1").fetchone()
    if model is None:
        return
    dim, preprocess = int(model[0]), json.loads(model[1] or "{}")
    for (domain,) in conn.execute("SELECT DISTINCT domain FROM items ORDER BY domain").fetchall():
        spec = {"name": domain, "kind": "image", "embed_dim": dim, "preprocess": preprocess}
        conn.execute("INSERT INTO domains VALUES (?, 'image', ?, ?)", (domain, dim, json.dumps(spec, sort_keys=True)))


@migration
def m005_sync(conn: sqlite3.Connection) -> None:
    """Sync, not append: an item is a path of a source (``source``, ``size``, ``mtime_ns``), several paths may share
    a content hash (the ``UNIQUE (domain, content_hash)`` of ``m001`` goes), every embedding is kept once per
    (domain, content hash) in ``vectors`` (filled for older indexes by ``EmbeddingIndex.open`` from faiss), and
    ``meta.next_id`` counts ids so that a removed item's id is never given again."""
    conn.execute(
        "CREATE TABLE items_v5 ("
        " id INTEGER PRIMARY KEY, domain TEXT NOT NULL, uri TEXT NOT NULL DEFAULT '',"
        " label TEXT NOT NULL DEFAULT '', caption TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL,"
        " source TEXT NOT NULL DEFAULT '', size INTEGER, mtime_ns INTEGER)"
    )
    conn.execute(
        "INSERT INTO items_v5 (id, domain, uri, label, caption, content_hash)"
        " SELECT id, domain, uri, label, caption, content_hash FROM items"
    )
    conn.execute("DROP TABLE items")
    conn.execute("ALTER TABLE items_v5 RENAME TO items")
    conn.execute("CREATE INDEX items_uri ON items (domain, uri)")
    conn.execute("CREATE INDEX items_label ON items (label)")
    conn.execute("CREATE INDEX items_hash ON items (domain, content_hash)")
    conn.execute("CREATE INDEX items_source ON items (source, domain)")
    conn.execute(
        "CREATE TABLE vectors ("
        " domain TEXT NOT NULL, content_hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (domain, content_hash))"
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta SELECT 'next_id', COALESCE(MAX(id) + 1, 0) FROM items")


def migrate(conn: sqlite3.Connection, name: str = "<memory>") -> int:
    """Applies the migrations not yet applied (``PRAGMA user_version`` counts them); returns the version.

    Raises:
        DataError: the database was written by a newer semspace (more migrations than this one knows).
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise DataError(
            f"{name}: schema version {version} is newer than this semspace supports ({len(MIGRATIONS)}); "
            "upgrade semspace or rebuild the index"
        )
    for number, fn in enumerate(MIGRATIONS[version:], start=version + 1):
        with conn:
            fn(conn)
            conn.execute(f"PRAGMA user_version = {number}")
        logger.debug("%s: applied migration %d (%s)", name, number, fn.__name__)
    return len(MIGRATIONS)
