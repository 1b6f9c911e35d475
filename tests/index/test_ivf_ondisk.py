"""IVF lists on disk (``index.ivf_ondisk``): shards spilled while adding, merged on disk at ``write``, mapped for
reading; every answer equals an in-memory faiss index holding the same vectors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.index import EmbeddingIndex, FaissIndex, ModelInfo
from semspace.index import ivf_ondisk as od
from semspace.index.store_files import StagingFolder

D = 16
FACTORY = "IVF8,Flat"
INFO = ModelInfo("runs/a/model.pt", "a" * 64, "align", D, "0.1.0")
DOMAINS = [DomainSpec("photo", InputKind.IMAGE, D, preprocess=PreprocessCfg(size=32))]


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, D)).astype(np.float32)  # (n, D)


def _same_answers(a: od.OnDiskIVF, b: FaissIndex, queries: np.ndarray) -> None:
    assert a.ntotal == b.ntotal
    (sa, ia), (sb, ib) = a.search(queries, 10), b.search(queries, 10)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(sa, sb, atol=1e-5)


def test_shards_removals_and_updates_answer_like_one_index_before_and_after_the_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(od, "SHARD_BYTES", 200 * D * 4)  # a shard every 200 vectors
    x, ids = _vectors(1200), np.arange(1200, dtype=np.int64) * 3
    ours, ref = od.OnDiskIVF(D, FACTORY, nprobe=8, staging=tmp_path), FaissIndex(D, FACTORY, nprobe=8)
    for start in range(0, 900, 150):
        ours.add(x[start : start + 150], ids[start : start + 150])
        ref.add(x[start : start + 150], ids[start : start + 150])
    shard_files = list(tmp_path.glob("staging-*.vectors/shard-*.faiss"))
    assert len(ours.shards) == 3 and len(shard_files) == 3  # spilled at 300, 600 and 900 vectors
    for index in (ours, ref):
        index.remove(ids[100:300])  # from shards (not rewritten) and the delta
        index.add(x[150:160] + 0.5, ids[150:160])  # updated in place: removed from a shard, added again
    _same_answers(ours, ref, x[:40])
    np.testing.assert_allclose(ours.reconstruct(ids[[155, 500]]), ref.reconstruct(ids[[155, 500]]), atol=1e-6)

    gen = tmp_path / "gen-000001"
    gen.mkdir()
    ours.write(gen / "index.faiss")
    assert sorted(p.name for p in gen.iterdir()) == ["index.faiss", "index.ivfdata", "trained.faiss"]
    assert not list(tmp_path.glob("staging-*")), "the shards are deleted once merged"
    assert ours.ntotal == 900 - 200 + 10
    assert (gen / "index.ivfdata").stat().st_size == ours.ntotal * (D * 4 + 8)  # compact: codes and ids only
    _same_answers(ours, ref, x[:40])

    reopened = od.OnDiskIVF.open(gen, gen / "index.faiss", FACTORY, nprobe=8, staging=tmp_path)
    _same_answers(reopened, ref, x[:40])
    for index in (reopened, ref):  # a change on a published generation: base read-only, delta in memory
        index.add(x[900:], ids[900:])
        index.remove(ids[[0, 1, 950]])
    _same_answers(reopened, ref, x[:40])
    listed = (gen / "index.ivfdata").read_bytes()
    nxt = tmp_path / "gen-000002"
    nxt.mkdir()
    reopened.write(nxt / "index.faiss")
    assert (gen / "index.ivfdata").read_bytes() == listed, "a published generation is never written"
    _same_answers(od.OnDiskIVF.open(nxt, nxt / "index.faiss", FACTORY, nprobe=8), ref, x[:40])


def test_a_generation_without_changes_is_linked_and_nothing_is_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    x = _vectors(300)
    first = od.OnDiskIVF(D, FACTORY, staging=tmp_path)
    first.add(x, np.arange(300))
    (tmp_path / "a").mkdir()
    first.write(tmp_path / "a" / "index.faiss")
    again = od.OnDiskIVF.open(tmp_path / "a", tmp_path / "a" / "index.faiss", FACTORY)
    (tmp_path / "b").mkdir()
    again.write(tmp_path / "b" / "index.faiss")
    same = os.stat(tmp_path / "a" / "index.ivfdata").st_ino == os.stat(tmp_path / "b" / "index.ivfdata").st_ino
    assert same, "an unchanged generation links the lists instead of copying them"
    out = capfd.readouterr().out
    assert out == "", f"faiss printed on stdout: {out!r}"


def test_an_index_folder_keeps_ivf_lists_on_disk_and_cleans_a_dead_writers_shards(tmp_path: Path) -> None:
    x = _vectors(400)
    items = [{"domain": "photo", "content_hash": f"h{i}", "uri": f"{i}.png"} for i in range(400)]
    built = {}
    for factory in (FACTORY, "Flat"):
        root = tmp_path / factory.replace(",", "_")
        index = EmbeddingIndex.create(root, model_info=INFO, dim=D, domains=DOMAINS, factory=factory, nprobe=8)
        index.add(x, items)
        index.save()
        built[factory] = root
    gen = built[FACTORY] / EmbeddingIndex.open(built[FACTORY]).generation
    assert (gen / "index.ivfdata").is_file() and (gen / "trained.faiss").is_file()

    def ranked(root: Path) -> list[list[str]]:
        return [[h.uri for h in hits] for hits in EmbeddingIndex.open(root).search(x[:20], k=5)]

    assert ranked(built[FACTORY]) == ranked(built["Flat"])  # nprobe = nlist: exact
    dead = StagingFolder(built[FACTORY])
    dead._finalizer.detach()
    os.close(dead._fd)  # the writer died: its lock is gone, its folder stays
    for root in built.values():
        writer = EmbeddingIndex.open(root)
        writer.remove([0, 1, 2])
        writer.add(x[:2] * -1.0, [{"domain": "photo", "content_hash": f"n{i}", "uri": f"n{i}.png"} for i in range(2)])
        writer.save()
    assert not dead.path.exists(), "the clean-up removes a dead writer's shard folder"
    assert len(EmbeddingIndex.open(built[FACTORY])) == 399
    assert ranked(built[FACTORY]) == ranked(built["Flat"])
