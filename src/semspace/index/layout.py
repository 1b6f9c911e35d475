"""The files of an index folder, its generations, and the leases that keep a generation alive while it is read.

An index folder::

    manifest.json         names the current generation (the switch: replaced by one rename)
    gen-000007/           one generation: index.faiss (or vectors.npz), items.sqlite, and ``lease``; an IVF
                          index adds index.ivfdata (its lists) and trained.faiss (``index.ivf_ondisk``)
    staging-<hex>.sqlite  a writer's copy of the store (``index.store_files``); staging-<hex>.vectors/: its shards
    thumbs/ab/<hash>.png  thumbnails, shared by every generation (content-addressed)
    building.sqlite       the journal of an unfinished build (``index.journal``)
    semspace-index.lock   the writer lock (``index.locking``); also marks the folder as an index, which a folder
                          source never reads (``data.images.scan_images``)

**Generation numbers** are taken under the writer lock: one more than the highest of the manifest's and of every
``gen-*`` folder on disk, so two writers (who cannot both hold the lock) never pick the same folder, and a folder a
killed writer left is never reused.

**Leases.** A reader (a search, a running service) holds a shared ``flock`` on ``gen-N/lease`` for as long as it
uses generation N; the writer's clean-up removes an old generation, and the thumbnails only it refers to, only
when it can take that lock exclusively, i.e. when no process reads it. Readers never take the writer lock, so a
reader never waits for a build and a build never waits for a reader. The lease is taken after reading the manifest
and checked against the files, so a reader that loses the race with a clean-up reads the manifest again.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import weakref
from pathlib import Path
from typing import Any

from semspace.errors import DataError
from semspace.types import INDEX_LOCK_FILE

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 3  # 3: generations; 2: "collections" (the domain records); 1 (0.1.0): all open
FILES = {"faiss": "index.faiss", "exact": "vectors.npz"}  # the vectors of each backend
ITEMS = "items.sqlite"
LEASE = "lease"
LOCK = INDEX_LOCK_FILE
GENERATION = re.compile(r"^gen-(\d{6})$")
BUILD_HINT = "build one with: semspace index build --run-dir RUN_DIR --data SPEC --out {root}"


def read_manifest(root: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``root``.

    Raises:
        DataError: it is missing, not JSON, or of a newer format than this semspace reads.
    """
    path = root / MANIFEST
    hint = BUILD_HINT.format(root=root)
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{root} is not an index folder (no {MANIFEST}); {hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); {hint}") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(manifest).__name__}; {hint}")
    if manifest.get("format", 0) > MANIFEST_FORMAT:
        raise DataError(f"{path}: index format {manifest.get('format')} is newer than this semspace reads")
    return manifest


def manifest_stamp(root: Path) -> tuple[int, int] | None:
    """``(mtime_ns, inode)`` of the manifest, or None when there is none: it changes with every switch (a rename
    gives a new inode even within one mtime tick), and costs one ``stat``."""
    try:
        st = os.stat(root / MANIFEST)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino


def generation_numbers(root: Path) -> list[int]:
    """The numbers of the ``gen-NNNNNN`` folders on disk."""
    if not root.is_dir():
        return []
    return sorted(int(m.group(1)) for p in root.iterdir() if (m := GENERATION.match(p.name)))


def next_generation(root: Path, manifest: dict[str, Any]) -> str:
    """The next generation's folder name (call it under the writer lock; see the module docstring)."""
    current = str(manifest.get("generation") or "gen-000000")
    number = max([int(current[4:]), *generation_numbers(root)]) + 1
    return f"gen-{number:06d}"


class GenerationLease:
    """A shared lock on ``gen-N/lease``: while it is held, clean-up keeps generation N and its thumbnails.

    Released by ``release()`` or when the object is garbage-collected (a service's old generation goes when its
    last in-flight request does).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        fd = os.open(folder / LEASE, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a clean-up holds it to delete the folder
        self._finalizer = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        self._finalizer()

    @property
    def held(self) -> bool:
        return self._finalizer.alive


def write_lease_file(folder: Path) -> None:
    """Creates the empty lease file of a new generation (before the switch)."""
    (folder / LEASE).touch()


def try_retire(folder: Path) -> bool:
    """Whether generation ``folder`` is read by no process; if so it is locked exclusively and deleted (True).

    A folder without a lease file (a killed save's, or one from before leases) is deleted too.
    """
    try:
        fd = os.open(folder / LEASE, os.O_RDONLY)
    except FileNotFoundError:
        shutil.rmtree(folder, ignore_errors=True)
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a reader holds it
        shutil.rmtree(folder, ignore_errors=True)  # readers waiting on the lease see the folder gone and re-read
        return True
    finally:
        os.close(fd)


def leased_generations(root: Path, current: str | None) -> list[Path]:
    """The generation folders other than ``current`` that some process still reads (their lease is held)."""
    out = []
    for number in generation_numbers(root):
        folder = root / f"gen-{number:06d}"
        if folder.name == current:
            continue
        try:
            fd = os.open(folder / LEASE, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out.append(folder)
        finally:
            os.close(fd)  # closing drops our own lock, if we got it
    return out
