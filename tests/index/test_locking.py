"""The writer lock of an index folder, the conflict check of ``save`` and the readers' leases."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from semspace.cli.main import main
from semspace.errors import DataError, IndexBusyError, IndexConflictError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.index.layout import LOCK
from semspace.index.locking import WriterLock, held_by_this_process

INFO = ModelInfo(checkpoint="model.pt", checkpoint_sha256="ab" * 32, task="align", embed_dim=8)


def _index(root: Path, n: int = 4) -> EmbeddingIndex:
    from semspace.data.domains import DomainSpec, InputKind

    index = EmbeddingIndex.create(
        root, model_info=INFO, dim=8, domains=[DomainSpec("vec", InputKind.FEATURES, 8, feature_dim=8)]
    )
    _add(index, n, start=0)
    index.save()
    return index


def _add(index: EmbeddingIndex, n: int, start: int) -> None:
    x = np.random.default_rng(start).normal(size=(n, 8)).astype(np.float32)  # (n, 8)
    index.add(x, [{"domain": "vec", "content_hash": f"h{start + i}", "uri": f"u{start + i}"} for i in range(n)])


class _Holder:
    """A thread that holds the writer lock of ``root`` until ``release()``."""

    def __init__(self, root: Path) -> None:
        self.root, self.taken, self.done = root, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()
        assert self.taken.wait(10)

    def _hold(self) -> None:
        with WriterLock(self.root, what="build"):
            self.taken.set()
            self.done.wait(30)

    def release(self) -> None:
        self.done.set()
        self.thread.join(10)


def test_a_second_writer_waits_saying_for_whom_then_gets_the_lock(tmp_path: Path) -> None:
    holder = _Holder(tmp_path)
    said: list[str] = []
    got = threading.Event()

    def second() -> None:
        with WriterLock(tmp_path, on_wait=said.append, what="removal"):
            got.set()

    t = threading.Thread(target=second, daemon=True)
    t.start()
    time.sleep(0.5)
    assert not got.is_set()  # it waits while the first holds the lock
    assert len(said) == 1 and f"the build started by PID {os.getpid()} at " in said[0]
    holder.release()
    assert got.wait(10)
    t.join(10)
    assert json.loads((tmp_path / LOCK).read_text())["what"] == "removal"  # the holder line names the last writer


def test_no_wait_raises_at_once_and_the_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _index(tmp_path / "idx")
    holder = _Holder(tmp_path / "idx")
    try:
        with pytest.raises(IndexBusyError, match="being written by the build started by PID"):
            WriterLock(tmp_path / "idx", wait=False).acquire()
        code = main(["index", "remove", "--index", str(tmp_path / "idx"), "--id", "0", "--no-wait"])
    finally:
        holder.release()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "without --no-wait" in err[0]
    assert len(EmbeddingIndex.open(tmp_path / "idx")) == 4  # nothing was removed
    assert main(["index", "remove", "--index", str(tmp_path / "idx"), "--id", "0", "--no-wait"]) == 0
    assert len(EmbeddingIndex.open(tmp_path / "idx")) == 3


def test_the_lock_is_reentrant_in_its_thread_and_a_missing_folder_is_not_created(tmp_path: Path) -> None:
    with WriterLock(tmp_path / "idx", create=True) as outer:
        assert held_by_this_process(tmp_path / "idx")
        with WriterLock(tmp_path / "idx"):  # a save inside a build does not wait for itself
            pass
        assert held_by_this_process(tmp_path / "idx") and outer._fd is not None
    assert not held_by_this_process(tmp_path / "idx")
    assert not (tmp_path / "idx").exists()  # created for a first build that saved nothing: removed again
    with pytest.raises(DataError, match="does not exist"):
        WriterLock(tmp_path / "typo").acquire()
    assert not (tmp_path / "typo").exists()


def test_a_waiter_whose_lock_file_was_removed_locks_the_new_one(tmp_path: Path) -> None:
    root = tmp_path / "idx"
    first = WriterLock(root, create=True).acquire()
    second_in = threading.Event()
    third_in = threading.Event()
    inside: list[str] = []

    def writer(name: str, event: threading.Event) -> None:
        with WriterLock(root, create=True):
            inside.append(name)
            event.set()
            time.sleep(0.3)
            inside.append(name)

    t2 = threading.Thread(target=writer, args=("second", second_in), daemon=True)
    t2.start()
    time.sleep(0.3)
    first.release()  # nothing but the lock in a folder it made: both removed; the waiter must not keep the old file
    assert second_in.wait(10)
    t3 = threading.Thread(target=writer, args=("third", third_in), daemon=True)
    t3.start()
    t2.join(10)
    t3.join(10)
    assert inside in (["second", "second", "third", "third"], ["third", "third", "second", "second"])  # never both


def test_a_save_over_another_writers_generation_is_refused(tmp_path: Path) -> None:
    _index(tmp_path / "idx").close()
    a, b = EmbeddingIndex.open(tmp_path / "idx"), EmbeddingIndex.open(tmp_path / "idx")
    _add(a, 2, start=10)
    a.save()
    _add(b, 3, start=20)
    with pytest.raises(IndexConflictError, match="saved by another writer since this one opened it"):
        b.save()  # it would drop a's two items
    assert len(EmbeddingIndex.open(tmp_path / "idx")) == 6
    assert a.changed_on_disk() is False and b.changed_on_disk() is True


def test_a_reader_keeps_its_generation_and_thumbnails_until_it_lets_go(tmp_path: Path) -> None:
    from PIL import Image

    index = _index(tmp_path / "idx")
    x = np.ones((1, 8), dtype=np.float32)
    index.add(x, [{"domain": "vec", "content_hash": "pic", "uri": "pic", "thumbnail": Image.new("RGB", (4, 4))}])
    index.save()
    index.close()  # a writer reads (and leases) the generation it saved, until it lets go
    reader = EmbeddingIndex.open(tmp_path / "idx")
    (pic,) = [it["id"] for it in reader.iter_items() if it["uri"] == "pic"]
    writer = EmbeddingIndex.open(tmp_path / "idx")
    writer.remove([pic])
    writer.save()
    assert (tmp_path / "idx" / reader.generation).is_dir() and reader.thumbnail(pic) is not None  # still in use
    reader.close()
    writer.clean_up()
    assert not (tmp_path / "idx" / reader.generation).exists()
    assert not list((tmp_path / "idx" / "thumbs").rglob("*.png"))  # its thumbnail went with it
