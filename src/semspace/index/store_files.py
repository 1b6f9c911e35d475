"""Where an index's SQLite store lives: published files read in place, a writer's private staging copy.

An item database of 10^6 items with their stored embeddings is gigabytes: it cannot be copied into memory by every
reader, nor held in memory by a writer (issue 19: memory stays flat in the gallery size). So:

* a **published** database (``gen-N/items.sqlite``) is never written again: readers open it in place, read-only and
  ``immutable`` (no locking, SQLite's own page cache of a few MB, nothing loaded whole);
* a **writer** that changes the store first copies it (SQLite's backup API, page by page) into a **staging file**
  ``staging-<random>.sqlite`` in the index folder and writes there; ``save`` renames the staging file into the new
  generation (no second copy), after which it is published like any other; a save that changes nothing in the store
  hard-links the published file into the new generation;
* the writer holds an exclusive ``flock`` on its staging file (and on the ``lock`` of its staging folder of vector
  shards, ``StagingFolder``) while it lives; the writer's clean-up deletes the
  staging files whose lock it can take (their writer is dead), the way it retires generations (``index.layout``).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import sqlite3
import weakref
from pathlib import Path

STAGING = re.compile(r"^staging-[0-9a-f]{16}\.(sqlite|vectors)$")


class StagingFile:
    """A new, empty staging database path in ``folder``, locked by this object until ``release()``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"staging-{secrets.token_hex(8)}.sqlite"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._finalizer = weakref.finalize(self, _drop, self._fd, self.path)  # an abandoned writer's copy goes

    def release(self) -> None:
        """Lets go of the lock, keeping the file (it was renamed into a generation)."""
        if self._finalizer.detach() is not None:
            os.close(self._fd)

    def discard(self) -> None:
        """Deletes the file and lets go of the lock."""
        self._finalizer()


class StagingFolder:
    """A new staging folder ``staging-<random>.vectors`` in ``folder`` for a writer's vector shards
    (``index.ivf_ondisk``), locked (its ``lock`` file) by this object until ``discard()`` deletes it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"staging-{secrets.token_hex(8)}.vectors"
        self.path.mkdir()
        self._fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._finalizer = weakref.finalize(self, _drop, self._fd, self.path)

    def discard(self) -> None:
        """Deletes the folder and lets go of the lock."""
        self._finalizer()


def _drop(fd: int, path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    os.close(fd)


def connect_staging(path: Path) -> sqlite3.Connection:
    """A read-write connection to a staging file: no rollback journal on disk (a killed writer's staging file is
    thrown away whole), no fsync until the file is published (``publish`` fsyncs it)."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = MEMORY")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def connect_published(path: Path) -> sqlite3.Connection:
    """A read-only connection to a published database, read in place (it never changes: ``immutable``)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def link_or_copy(src: Path, dst: Path) -> None:
    """``dst`` becomes the same bytes as the published ``src``: a hard link (free), else a copy (another filesystem)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def remove_dead_staging(root: Path) -> int:
    """Deletes the staging files of ``root`` whose writer is gone (their lock can be taken); returns how many."""
    removed = 0
    for p in root.iterdir():
        if not STAGING.match(p.name):
            continue
        try:
            fd = os.open(p / "lock" if p.is_dir() else p, os.O_RDONLY)
        except FileNotFoundError:
            if p.is_dir():  # killed between mkdir and the lock file
                shutil.rmtree(p, ignore_errors=True)
                removed += 1
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a living writer's
        finally:
            os.close(fd)
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed += 1
    return removed
