"""One writer at a time per index folder: an OS file lock held for a whole build or removal.

``WriterLock(root)`` takes an exclusive ``flock`` on ``<root>/semspace-index.lock`` and writes who holds it (PID,
start time, command line) into the file. A second writer waits, after saying once whom it waits for ("waiting for
the build started by PID N at T"), or with ``wait=False`` raises ``IndexBusyError`` at once. The kernel drops the
lock when its process dies, however it dies, so a lock left by a killed build is simply taken over (its stale
holder line is overwritten). The lock is re-entrant within one process: a ``save`` inside a build that holds it
does not wait for itself. Readers never take it (``index.layout``: leases).

``flock`` locks are per open file: two threads or two processes conflict alike. Network file systems that do not
implement ``flock`` are not supported for concurrent writers.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from semspace.errors import DataError, IndexBusyError
from semspace.index.layout import BUILD_HINT, LOCK

_HELD: dict[str, WriterLock] = {}  # resolved root -> the lock this process holds on it
_HELD_GUARD = threading.Lock()
POLL_SECONDS = 0.1


def holder_of(root: Path) -> dict[str, Any]:
    """What the lock file says of its (last) holder: ``pid``, ``started`` (epoch s), ``command``; {} if unknown."""
    try:
        holder = json.loads((root / LOCK).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
    """``"the build started by PID 123 at 2026-12-05 21:50:02 (semspace index build ...)"``."""
    if not holder.get("pid"):
        return "another writer"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
    command = f" ({holder['command']})" if holder.get("command") else ""
    return f"the {holder.get('what', 'build')} started by PID {holder['pid']} at {when}{command}"


class WriterLock:
    """The writer lock of one index folder (module docstring); a context manager.

    Args:
        root: the index folder (created when missing).
        wait: wait for another writer to finish (True) or raise ``IndexBusyError`` at once (False).
        on_wait: called once with a line saying whom this writer waits for (default: nothing is said).
        what: what this writer is, for others' messages (``"build"``, ``"removal"``, ``"save"``).
        create: create ``root`` when it is missing (a first build); otherwise a missing folder is a ``DataError``.

    Example:
        >>> with WriterLock("runs/index", on_wait=print):
        ...     index = EmbeddingIndex.open("runs/index"); index.remove([3]); index.save()
    """

    def __init__(self, root: str | os.PathLike[str], *, wait: bool = True, on_wait: Callable[[str], None] | None = None,
                 what: str = "build", create: bool = False) -> None:  # fmt: skip
        self.root, self.create = Path(root), create
        self.wait, self.on_wait, self.what = wait, on_wait, what
        self._fd: int | None = None
        self._owner = 0  # the thread that holds it
        self._made = False  # this lock created the folder (removed again if nothing but the lock is in it)
        self._outer: WriterLock | None = None  # the lock this process already held on the folder (re-entry)

    @property
    def key(self) -> str:
        return str(self.root.resolve())

    def acquire(self) -> WriterLock:
        with _HELD_GUARD:
            held = _HELD.get(self.key)
        if held is not None and held._owner == threading.get_ident():
            self._outer = held  # re-entry from the thread that holds it
            return self
        if self.create:
            self._made = not self.root.exists()
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise DataError(f"index folder {self.root} does not exist; {BUILD_HINT.format(root=self.root)}")
        while True:
            fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                self._take(fd)
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.root / LOCK):
                break
            os.close(fd)  # a failed first build removed the file (and folder) while we waited: lock the new one
            if self.create:
                self.root.mkdir(parents=True, exist_ok=True)
        self._fd, self._owner = fd, threading.get_ident()
        line = {"pid": os.getpid(), "started": time.time(), "what": self.what, "command": " ".join(sys.argv)[:300]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(line).encode("utf-8"), 0)
        with _HELD_GUARD:
            _HELD[self.key] = self
        return self

    def _take(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        who = describe_holder(holder_of(self.root))
        if not self.wait:
            raise IndexBusyError(
                f"index {self.root} is being written by {who}; wait for it to finish, or run again without --no-wait"
            )
        if self.on_wait is not None:
            self.on_wait(f"waiting for {who} to finish writing {self.root} ...")
        while True:  # polled, not a blocking flock: a Ctrl-C stays responsive
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                time.sleep(POLL_SECONDS)

    def release(self) -> None:
        """Lets the next writer in. A folder this lock created that still holds nothing but the lock file (a first build
        that failed before saving) is removed first, so a failed build leaves no folder behind; a writer waiting on
        the removed file notices (``_same_file``) and locks a new one."""
        if self._outer is not None:
            self._outer = None
            return
        if self._fd is None:
            return
        with _HELD_GUARD:
            _HELD.pop(self.key, None)
        fd, self._fd = self._fd, None
        if self._made:
            _remove_if_only_the_lock(self.root)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open lock file ``fd`` is still the file at ``path`` (not removed or replaced meanwhile)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _remove_if_only_the_lock(root: Path) -> None:
    try:
        if [p.name for p in root.iterdir()] == [LOCK]:
            (root / LOCK).unlink()
            root.rmdir()
    except OSError:
        pass  # something else appeared meanwhile: keep it all


def held_by_this_process(root: Path) -> bool:
    """Whether a ``WriterLock`` of this process (this thread) holds ``root``."""
    with _HELD_GUARD:
        held = _HELD.get(str(root.resolve()))
    return held is not None and held._owner == threading.get_ident()
