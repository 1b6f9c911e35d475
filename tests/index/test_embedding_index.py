"""EmbeddingIndex folders: search equals brute force, atomic saves, incremental adds, model checks, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.errors import ConfigError, DataError, IndexMismatchError
from semspace.index import EmbeddingIndex, FaissIndex, ModelInfo, exact_knn, generations
from semspace.index.faiss_index import l2_normalize
from semspace.index.layout import LOCK
from semspace.index.store_files import STAGING

D = 16
INFO = ModelInfo("runs/a/model.pt", "a" * 64, "align", D, "0.1.0")
PRE = PreprocessCfg(size=32)
DOMAINS = [DomainSpec(name, InputKind.IMAGE, D, preprocess=PRE) for name in ("render3d", "blobs2d", "photo")]


def _vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, D)).astype(np.float32)  # (n, D), not unit norm


def _items(n: int, start: int = 0, domain: str = "render3d") -> list[dict[str, object]]:
    return [
        {"domain": domain, "content_hash": f"hash{i}", "uri": f"img/{i}.png", "label": f"class{i % 4}",
         "caption": f"item {i}"}
        for i in range(start, start + n)
    ]  # fmt: skip


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = _vectors(60, 0)
    index = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, domains=DOMAINS)
    index.add(x, _items(60))
    index.save()
    return tmp_path / "idx", x


@pytest.mark.parametrize("backend", ["faiss", "exact"])
def test_search_equals_exact_knn_with_item_metadata(tmp_path: Path, backend: str) -> None:
    x, q = _vectors(80, 1), _vectors(7, 2)
    index = EmbeddingIndex.create(tmp_path / backend, model_info=INFO, dim=D, backend=backend, domains=DOMAINS)
    assert index.add(x, _items(80)) == list(range(80))
    index.save()
    hits = EmbeddingIndex.open(tmp_path / backend).search(q, k=5)
    ref_scores, ref_pos = exact_knn(l2_normalize(q), l2_normalize(x), 5)
    assert [[h.id for h in row] for row in hits] == ref_pos.tolist()
    np.testing.assert_allclose([[h.score for h in row] for row in hits], ref_scores.numpy(), atol=1e-5)
    top = hits[0][0]
    assert (top.domain, top.uri, top.label, top.caption) == (
        "render3d", f"img/{top.id}.png", f"class{top.id % 4}", f"item {top.id}"
    )  # fmt: skip


def test_incremental_add_skips_unchanged_hashes(built: tuple[Path, np.ndarray]) -> None:
    root, x = built
    index = EmbeddingIndex.open(root)
    again = index.add(x[:10], _items(10))  # the same content again: nothing added
    assert again == [-1] * 10 and len(index) == 60
    mixed = _items(4, start=58) + _items(3, start=60) + _items(1, start=61)  # hashes 58 59 60 61 60 61 62 61
    ids = index.add(_vectors(8, 3), mixed)
    assert ids == [-1, -1, 60, 61, -1, -1, 62, -1]  # stored ones and repeats within the call are skipped
    np.testing.assert_allclose(index.reconstruct(62), l2_normalize(_vectors(8, 3))[6], atol=1e-6)  # right vector
    assert len(index) == 63 and index._vectors.ntotal == 63
    same_hash_other_domain = _items(1, start=0, domain="blobs2d")
    assert index.add(_vectors(1, 4), same_hash_other_domain) == [63]
    index.save()
    reopened = EmbeddingIndex.open(root)
    assert len(reopened) == 64 and reopened.info()["domains"] == {"render3d": 63, "blobs2d": 1}
    assert reopened.get_item(63)["domain"] == "blobs2d"  # type: ignore[index]


def _files(root: Path) -> dict[str, bytes]:
    """Every file's bytes, but the writer lock's holder line (rewritten by every writer, saved or not)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != LOCK}


def test_crash_during_save_leaves_the_old_index_readable(
    built: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, x = built
    before = _files(root)
    index = EmbeddingIndex.open(root)
    index.add(_vectors(5, 5), _items(5, start=100))

    staging = set(_files(root)) - set(before)
    assert len(staging) == 1 and STAGING.match(staging.pop())  # the writer's copy of the store

    def crash(folder: Path) -> None:  # vectors and items are already in the new generation, not yet switched to
        raise KeyboardInterrupt("killed before the switch")

    monkeypatch.setattr(generations, "write_lease_file", crash)
    with pytest.raises(KeyboardInterrupt):
        index.save()
    monkeypatch.undo()
    after = _files(root)
    moved_back = set(after) - set(before)
    assert len(moved_back) == 1 and STAGING.match(moved_back.pop())  # the store's file moved back out
    assert {k: after[k] for k in before} == before  # no partial generation, no temp files, nothing replaced
    old = EmbeddingIndex.open(root)
    assert len(old) == 60 and old.search(x[:1], 1)[0][0].id == 0
    index.save()  # the retried save succeeds; the generation `old` still reads stays until it lets go
    assert len(EmbeddingIndex.open(root)) == 65
    assert sorted(p.name for p in root.iterdir()) == ["gen-000002", "gen-000003", "manifest.json", LOCK]
    old.close()
    index.clean_up()
    assert sorted(p.name for p in root.iterdir()) == ["gen-000003", "manifest.json", LOCK]


def test_a_killed_save_leaves_files_the_next_save_removes(built: tuple[Path, np.ndarray]) -> None:
    root, _ = built
    (root / "gen-000009").mkdir()  # as a save killed before its switch leaves them
    (root / "gen-000009" / "index.faiss").write_bytes(b"half")
    (root / "manifest.json.tmp.123").write_text("{")
    (root / "thumbs" / "zz").mkdir(parents=True)
    (root / "thumbs" / "zz" / "zz-orphan.png").write_bytes(b"x")
    index = EmbeddingIndex.open(root)  # the current generation is read; the rest is ignored
    assert len(index) == 60
    index.add(_vectors(1, 9), _items(1, start=500))
    index.save()
    assert sorted(p.name for p in root.iterdir()) == [
        "gen-000010",
        "manifest.json",
        LOCK,
        "thumbs",
    ]  # past the leftover
    assert not list((root / "thumbs").rglob("*"))  # the orphan thumbnail and its folder are gone
    assert len(EmbeddingIndex.open(root)) == 61


def test_half_replaced_index_is_detected(built: tuple[Path, np.ndarray]) -> None:
    root, x = built
    gen = root / json.loads((root / "manifest.json").read_text())["generation"]
    bigger = FaissIndex.load(gen / "index.faiss")
    bigger.add(_vectors(1, 6), [999])
    bigger.save(gen / "index.faiss")  # files that disagree with each other
    with pytest.raises(DataError, match="inconsistent.*interrupted save"):
        EmbeddingIndex.open(root)


def test_a_path_is_one_item_updated_in_place_and_copies_are_their_own_items(built: tuple[Path, np.ndarray]) -> None:
    root, x = built
    index = EmbeddingIndex.open(root)
    changed = {**_items(1, start=7)[0], "content_hash": "new7"}  # img/7.png overwritten with other content
    copy = {**_items(1, start=3)[0], "uri": "img/copy-of-3.png"}  # the same content under a new name
    fresh = _vectors(1, 99)[0]
    ids = index.add(np.stack([fresh, x[3]]), [changed, copy])
    assert ids == [7, 60] and len(index) == 61 and index._vectors.ntotal == 61  # in place; the copy is new
    np.testing.assert_allclose(index.reconstruct(7), l2_normalize(fresh[None])[0], atol=1e-6)
    assert index.get_item(7)["content_hash"] == "new7"  # type: ignore[index]
    assert {h.id for h in index.search(x[3:4], k=2)[0]} == {3, 60}  # both paths are found
    index.save()
    reopened = EmbeddingIndex.open(root)
    assert reopened.search(fresh[None], k=1)[0][0].id == 7
    stored_ids = np.concatenate([i for i, _ in reopened._store.iter_item_vectors()])
    assert stored_ids.tolist() == list(range(61))  # every item has its stored embedding


@pytest.mark.parametrize(("backend", "factory"), [("faiss", "Flat"), ("faiss", "HNSW16"), ("faiss", "IVF4,Flat"),
                                                   ("faiss", "PQ4"), ("exact", "Flat")])  # fmt: skip
def test_removal_works_for_every_factory_and_ids_are_not_reused(tmp_path: Path, backend: str, factory: str) -> None:
    x, q = _vectors(300, 11), _vectors(4, 12)
    index = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, backend=backend, factory=factory,
                                  nprobe=4, domains=DOMAINS)  # fmt: skip
    index.add(x, _items(300))
    gone = list(range(0, 300, 3))
    assert index.remove([*gone, 12345]) == len(gone)
    assert index.remove(gone) == 0
    index.save()
    index = EmbeddingIndex.open(tmp_path / "idx")
    left = np.array([i for i in range(300) if i % 3])
    assert len(index) == index._vectors.ntotal == len(left)
    hits = index.search(q, k=10)
    assert all(h.id % 3 for row in hits for h in row) and all(len(row) == 10 for row in hits)
    if factory in ("Flat", "HNSW16"):
        _, ref = exact_knn(l2_normalize(q), l2_normalize(x[left]), 10)
        found = [[h.id for h in row] for row in hits]
        exact = left[ref.numpy()].tolist()
        overlap = np.mean([len(set(a) & set(b)) for a, b in zip(found, exact, strict=True)])
        assert found == exact if factory == "Flat" else overlap >= 8
    assert index.add(_vectors(1, 13), _items(1, start=900)) == [300]  # the next id, not a freed one
    assert index._store.prune_vectors() == 0  # the removed items' embeddings went with the save


def test_a_new_factory_rebuilds_from_the_stored_embeddings(built: tuple[Path, np.ndarray]) -> None:
    root, x = built
    index = EmbeddingIndex.open(root)
    before = [[h.id for h in row] for row in index.search(x[:5], k=4)]
    index.set_factory("HNSW32")
    index.save()
    rebuilt = EmbeddingIndex.open(root)
    assert (
        rebuilt.factory == "HNSW32"
        and rebuilt._manifest["factory"] == "HNSW32"
        and rebuilt._vectors.remove([0]) is False
    )  # HNSW cannot remove
    assert [[h.id for h in row] for row in rebuilt.search(x[:5], k=4)] == before
    with pytest.raises(ConfigError, match="not valid"):
        rebuilt.set_factory("Nonsense99")


def test_a_folder_with_index_files_but_no_manifest_is_refused(built: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    root, _ = built
    (root / "manifest.json").unlink()
    with pytest.raises(DataError, match=r"index files but no manifest\.json.*not overwritten"):
        EmbeddingIndex.create(root, model_info=INFO, dim=D)
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="files that are not an index: notes.txt"):
        EmbeddingIndex.create(tmp_path / "stuff", model_info=INFO, dim=D)
    assert (tmp_path / "stuff" / "notes.txt").read_text() == "mine"
    (tmp_path / "fresh" / "thumbs").mkdir(parents=True)  # what an unfinished first build leaves: accepted
    EmbeddingIndex.create(tmp_path / "fresh", model_info=INFO, dim=D)


def test_a_different_model_is_refused(built: tuple[Path, np.ndarray]) -> None:
    root, _ = built
    index = EmbeddingIndex.open(root)
    specs = {d.name: d for d in DOMAINS}
    index.check_model(ModelInfo("moved/run/model.pt", INFO.checkpoint_sha256, "align", D), specs)  # moved: ok
    other = ModelInfo("runs/b/model.pt", "b" * 64, "align", D)
    with pytest.raises(IndexMismatchError, match=r"runs/a/model\.pt.*runs/b/model\.pt.*weights"):
        index.check_model(other)
    resized = {**specs, "render3d": DomainSpec("render3d", InputKind.IMAGE, D, preprocess=PreprocessCfg(size=64))}
    with pytest.raises(IndexMismatchError, match="domain 'render3d'.*differ in preprocess"):
        index.check_model(INFO, resized)
    with pytest.raises(IndexMismatchError, match="holds domain 'photo', which the query model lacks"):
        index.check_model(INFO, {k: v for k, v in specs.items() if k != "photo"})


def test_missing_or_broken_folders_say_how_to_build_one(tmp_path: Path, built: tuple[Path, np.ndarray]) -> None:
    with pytest.raises(DataError, match=r"nowhere does not exist.*semspace index build"):
        EmbeddingIndex.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no manifest.json.*semspace index build"):
        EmbeddingIndex.open(tmp_path / "empty")
    root, _ = built
    (root / json.loads((root / "manifest.json").read_text())["generation"] / "items.sqlite").unlink()
    with pytest.raises(DataError, match=r"lacks gen-\d+/items.sqlite"):
        EmbeddingIndex.open(root)
    with pytest.raises(DataError, match="already holds an index"):
        EmbeddingIndex.create(root, model_info=INFO, dim=D)
    with pytest.raises(ConfigError, match="differs from the model"):
        EmbeddingIndex.create(tmp_path / "other", model_info=INFO, dim=D + 1)


def test_thumbnails_and_manifest(tmp_path: Path) -> None:
    index = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, domains=DOMAINS)
    items = _items(2)
    items[0]["thumbnail"] = Image.new("RGBA", (400, 100), (255, 0, 0, 255))
    items[1]["thumbnail"] = Image.new("L", (20, 30), 7)
    index.add(_vectors(2, 7), items)
    index.add_source("world_scenes:n=2")
    index.save()
    assert index.thumbnail(0).size == (128, 32) and index.thumbnail(1).size == (20, 30)  # type: ignore[union-attr]
    assert index.thumbnail_path(0) == tmp_path / "idx" / "thumbs" / "ha" / "hash0.png"  # under the content hash
    assert index.thumbnail(0).getpixel((5, 5)) == (255, 0, 0)  # type: ignore[union-attr]
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["ntotal"] == 2 and manifest["factory"] == "Flat" and manifest["sources"] == ["world_scenes:n=2"]
    assert ModelInfo.from_dict(manifest["model"]) == INFO
    with pytest.raises(DataError, match="no item with id 5"):
        index.reconstruct(5)
    np.testing.assert_allclose(index.reconstruct(1), l2_normalize(_vectors(2, 7))[1], atol=1e-6)


@pytest.mark.parametrize(("backend", "factory"), [("faiss", "Flat"), ("faiss", "HNSW16"), ("faiss", "IVF4,Flat"),
                                                   ("exact", "Flat")])  # fmt: skip
def test_search_within_domains_equals_exact_knn_on_their_items(tmp_path: Path, backend: str, factory: str) -> None:
    """One index, three collections: a domain filter returns k items of those domains, ranked as brute force."""
    x, q = _vectors(90, 3), _vectors(5, 4)
    index = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, backend=backend, factory=factory,
                                  nprobe=4, domains=DOMAINS)  # fmt: skip
    doms = [DOMAINS[i % 3].name for i in range(90)]
    items = [{**it, "domain": d} for it, d in zip(_items(90), doms, strict=True)]
    index.add(x, items)
    index.save()
    index = EmbeddingIndex.open(tmp_path / "idx")
    for wanted in (["blobs2d"], ["render3d", "photo"]):
        keep = np.array([i for i, d in enumerate(doms) if d in wanted])
        hits = index.search(q, k=6, domains=wanted)
        assert all(h.domain in wanted for row in hits for h in row) and all(len(row) == 6 for row in hits)
        if factory == "Flat":
            _, ref = exact_knn(l2_normalize(q), l2_normalize(x[keep]), 6)
            assert [[h.id for h in row] for row in hits] == keep[ref.numpy()].tolist()
    everything = index.search(q, k=6)
    assert {h.domain for row in everything for h in row} <= set(doms)
    assert [[h.id for h in r] for r in everything] == [[h.id for h in r] for r in index.search(q, 6, list(set(doms)))]
    with pytest.raises(ConfigError, match=r"holds no domain \['sketch'\]"):
        index.search(q, k=3, domains="sketch")


def test_items_need_a_collection_and_a_collection_keeps_its_record(tmp_path: Path) -> None:
    index = EmbeddingIndex.create(tmp_path / "idx", model_info=INFO, dim=D, domains=DOMAINS[:1])
    with pytest.raises(DataError, match="domain 'blobs2d' has no collection"):
        index.add(_vectors(1, 0), _items(1, domain="blobs2d"))
    index.add_domain(DOMAINS[0])  # the same record again: fine
    with pytest.raises(IndexMismatchError, match="already holds domain 'render3d'"):
        index.add_domain(DomainSpec("render3d", InputKind.SKETCH, D, preprocess=PRE))
    text = DomainSpec("captions", InputKind.TEXT, D, text_encoder={"architecture": "lstm_text"})
    index.add_domain(text)
    index.save()
    assert EmbeddingIndex.open(tmp_path / "idx").domains() == {"render3d": DOMAINS[0], "captions": text}
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["collections"]["captions"] == text.to_dict()
