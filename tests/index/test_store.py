"""ItemStore: numbered migrations, unique content hash per domain, model record, atomic save."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from semspace.errors import DataError
from semspace.index.migrations import MIGRATIONS, m001_create_items
from semspace.index.store import ItemStore, ModelInfo

INFO = ModelInfo("runs/a/model.pt", "ab" * 32, "align", 32, "0.1.0")


def _item(i: int, domain: str = "render3d", h: str | None = None) -> dict[str, object]:
    h = h or f"h{i}"
    return {"id": i, "domain": domain, "uri": f"img{i}.png", "label": f"c{i % 3}", "caption": "", "content_hash": h,
            "source": "", "size": None, "mtime_ns": None}  # fmt: skip


def test_new_store_is_fully_migrated_and_round_trips(tmp_path: Path) -> None:
    store = ItemStore.open(None)
    assert store.schema_version() == len(MIGRATIONS) >= 2
    assert store.get_model() is None and store.next_id() == 0
    store.set_model(INFO)
    store.add_items([_item(i) for i in range(5)])
    store.save(tmp_path / "items.sqlite")
    back = ItemStore.open(tmp_path / "items.sqlite")
    assert back.get_model() == INFO
    assert back.count() == 5 and back.next_id() == 5
    assert back.get(3) == _item(3) and back.get(99) is None
    assert list(back.iter_items()) == [_item(i) for i in range(5)]
    assert set(back.get_many([0, 4, 77])) == {0, 4}
    assert not list(tmp_path.glob("*.tmp*"))


def test_old_schema_is_migrated_and_newer_schema_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    conn = sqlite3.connect(old)
    m001_create_items(conn)  # a database written when only the first migration existed
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO items VALUES (0, 'photo', 'a.png', 'cat', '', 'h0')")
    conn.commit()
    conn.close()
    store = ItemStore.open(old)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.get(0)["label"] == "cat"  # type: ignore[index]
    store.set_model(INFO)  # the model table was created by a later migration
    assert store.get_model() == INFO
    newer = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(DataError, match="newer than this semspace"):
        ItemStore.open(newer)


def test_paths_may_share_a_content_hash_but_ids_are_unique_and_never_reused() -> None:
    store = ItemStore.open(None)
    store.add_items([_item(0, "render3d", "same"), _item(1, "blobs2d", "same"), _item(2, "render3d", "same")])
    with pytest.raises(DataError, match="already stored"):
        store.add_items([_item(2, "photo", "other")])
    assert store.count() == 3  # the failed transaction added nothing
    assert store.has_hash("blobs2d", "same") and not store.has_hash("photo", "same")
    assert store.domain_counts() == {"render3d": 2, "blobs2d": 1}
    assert store.remove_items([2, 9]) == 1 and store.next_id() == 3  # id 2 is not given again


def test_stored_vectors_are_kept_per_content_and_pruned_with_their_items() -> None:
    store = ItemStore.open(None)
    store.add_items([_item(0, h="a"), _item(1, h="a"), _item(2, h="b")])
    store.put_vectors("render3d", ["a", "b"], np.arange(8, dtype=np.float32).reshape(2, 4))
    blocks = list(store.iter_item_vectors(block=2))
    assert [len(ids) for ids, _ in blocks] == [2, 1]  # read block by block
    ids, vecs = np.concatenate([i for i, _ in blocks]), np.concatenate([v for _, v in blocks])
    assert ids.tolist() == [0, 1, 2] and vecs[:, 0].tolist() == [0.0, 0.0, 4.0]
    store.remove_items([2])
    assert store.prune_vectors() == 1 and set(store.get_vectors("render3d", ["a", "b"])) == {"a"}
    store.add_items([_item(3, h="c")])
    assert store.missing_vectors() == [(3, "render3d", "c")]


def test_existing_hashes_matches_a_naive_lookup_across_chunks() -> None:
    store = ItemStore.open(None)
    store.add_items([_item(i, "d" if i % 2 else "e") for i in range(1200)])
    query = [f"h{i}" for i in range(0, 1500, 3)] + ["h1", "h1"]
    stored = [(it["domain"], it["content_hash"]) for it in store.iter_items()]
    naive = {h for h in query if ("d", h) in stored}
    assert store.existing_hashes("d", query) == naive and len(naive) > 200


def test_model_fingerprint_ignores_path_and_version() -> None:
    moved = ModelInfo("elsewhere/model.pt", INFO.checkpoint_sha256, "align", 32, "9.9")
    assert moved.fingerprint() == INFO.fingerprint()
    other = ModelInfo(INFO.checkpoint, "cd" * 32, "align", 32)
    assert other.fingerprint() != INFO.fingerprint()
    assert ModelInfo.from_dict(INFO.to_dict()) == INFO
    with pytest.raises(DataError, match="lacks"):
        ModelInfo.from_dict({"task": "align"})


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "items.sqlite"
    store = ItemStore.open(None)
    store.add_items([_item(0)])
    store.save(path)
    store.add_items([_item(1)])

    def crash(self: ItemStore, target: Path) -> None:
        Path(target).write_bytes(b"half a database")
        raise OSError("disk full")

    monkeypatch.setattr(ItemStore, "write", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save(path)
    monkeypatch.undo()
    assert ItemStore.open(path).count() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.sqlite"]
    with pytest.raises(DataError, match="does not exist"):
        ItemStore.open(tmp_path / "missing.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a readable SQLite"):
        ItemStore.open(tmp_path / "junk.sqlite")


def test_a_0_1_0_database_gains_its_collections_from_migration_4(tmp_path: Path) -> None:
    """Schema 3 (semspace 0.1.0): images only, one preprocessing in the model row -> one image collection each."""
    old = tmp_path / "old.sqlite"
    conn = sqlite3.connect(old)
    for fn in MIGRATIONS[:3]:
        fn(conn)
    conn.execute("PRAGMA user_version = 3")
    pre = '{"size": 32, "channels": 3}'
    conn.execute("INSERT INTO model VALUES (1, 'run/model.pt', ?, 'transfer', 16, ?, '0.1.0')", ("ab" * 32, pre))
    conn.executemany("INSERT INTO items VALUES (?, ?, '', '', '', ?)", [(0, "render3d", "h0"), (1, "blobs2d", "h1")])
    conn.commit()
    conn.close()
    store = ItemStore.open(old)
    assert store.get_domains() == {
        name: {"name": name, "kind": "image", "embed_dim": 16, "preprocess": {"size": 32, "channels": 3}}
        for name in ("blobs2d", "render3d")
    }
    assert store.ids_in_domains(["render3d"]) == [0] and store.ids_in_domains([]) == []
