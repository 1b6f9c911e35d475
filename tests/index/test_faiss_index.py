"""FaissIndex and the exact torch kNN: faiss answers equal brute force; ids, training, save/load, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from semspace.errors import ConfigError, DataError
from semspace.index.exact import ExactIndex, exact_knn
from semspace.index.faiss_index import FaissIndex, l2_normalize


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    return l2_normalize(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32))  # (n, d)


def _naive_knn(q: np.ndarray, db: np.ndarray, k: int) -> list[list[int]]:
    """Reference: rank every database row by (-score, position) in plain Python."""
    out = []
    for row in q:
        scores = [float(np.dot(row.astype(np.float64), v.astype(np.float64))) for v in db]
        out.append(sorted(range(len(db)), key=lambda j: (-scores[j], j))[:k])
    return out


def test_exact_knn_matches_a_naive_loop_and_breaks_ties_by_position() -> None:
    db = _unit(40, 8, 0)
    db[[7, 21, 33]] = db[3]  # four identical rows: equal scores for every query
    q = np.concatenate([db[3:4], _unit(5, 8, 1)])  # (6, 8)
    scores, pos = exact_knn(q, db, 10, max_elements=50)  # tiny blocks: several query blocks
    assert pos.tolist() == _naive_knn(q, db, 10)
    assert pos[0, :4].tolist() == [3, 7, 21, 33]  # the tie, in database order
    assert torch.allclose(scores, torch.from_numpy(q @ db.T).gather(1, pos), atol=1e-6)
    assert exact_knn(q, db[:3], 10)[1].shape == (6, 3)  # k is capped at the database size


@pytest.mark.parametrize("factory", ["Flat", "IVF8,Flat", "HNSW16"])
def test_faiss_search_equals_exact_search(factory: str) -> None:
    db, q = _unit(400, 16, 2), _unit(25, 16, 3)
    ids = 1000 + 7 * np.arange(400)  # arbitrary int64 ids, not positions
    index = FaissIndex(16, factory, nprobe=8)  # IVF8 with nprobe 8 visits every list: exact
    index.add(db, ids)
    scores, found = index.search(q, 10)
    ref_scores, ref_pos = exact_knn(q, db, 10)
    if factory == "HNSW16":  # approximate: recall against the exact answer instead of equality
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, ids[ref_pos.numpy()], strict=True)])
        assert recall >= 0.9
    else:
        np.testing.assert_allclose(scores, ref_scores.numpy(), atol=1e-5)
        distinct = np.diff(ref_scores.numpy(), axis=1) < -1e-6  # positions whose order is not a tie
        assert np.array_equal(found[:, 0], ids[ref_pos.numpy()[:, 0]])
        assert np.array_equal(found[:, 1:][distinct], ids[ref_pos.numpy()][:, 1:][distinct])


def test_vectors_are_normalised_and_reconstructed_by_id(tmp_path: Path) -> None:
    x = np.random.default_rng(4).standard_normal((30, 8)).astype(np.float32) * 5.0
    for factory in ("Flat", "IVF4,Flat"):
        index = FaissIndex(8, factory)
        index.add(x, np.arange(30) * 3)
        np.testing.assert_allclose(index.reconstruct([6, 9]), l2_normalize(x[[2, 3]]), atol=1e-6)
        scores, _ = index.search(x[:1], 1)
        assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)  # cosine, not the raw inner product
        with pytest.raises(DataError, match="id 1"):
            index.reconstruct([1])
        index.save(tmp_path / f"{factory}.faiss")
        loaded = FaissIndex.load(tmp_path / f"{factory}.faiss", factory)
        assert loaded.ntotal == 30
        np.testing.assert_array_equal(loaded.search(x[:5], 4)[1], index.search(x[:5], 4)[1])
        np.testing.assert_allclose(loaded.reconstruct([6]), index.reconstruct([6]))


def test_k_beyond_ntotal_pads_with_minus_one() -> None:
    index = FaissIndex(4)
    empty_scores, empty_ids = index.search(np.ones((2, 4)), 3)
    assert (empty_ids == -1).all() and np.isneginf(empty_scores).all()
    index.add(_unit(2, 4, 5), [10, 11])
    scores, ids = index.search(_unit(1, 4, 6), 5)
    assert sorted(ids[0, :2].tolist()) == [10, 11] and ids[0, 2:].tolist() == [-1, -1, -1]
    assert np.isneginf(scores[0, 2:]).all()


def test_training_needs_enough_vectors_and_bad_inputs_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 64"):
        FaissIndex(8, "IVF64,Flat").add(_unit(20, 8, 7), np.arange(20))
    with pytest.raises(ConfigError, match="factory string 'NotAnIndex'"):
        FaissIndex(8, "NotAnIndex")
    index = FaissIndex(8)
    with pytest.raises(DataError, match=r"shape \(N, 8\)"):
        index.add(np.ones((3, 5)), [0, 1, 2])
    with pytest.raises(DataError, match="3 vectors but 2 ids"):
        index.add(np.ones((3, 8)), [0, 1])
    with pytest.raises(DataError, match="NaN"):
        index.search(np.full((1, 8), np.nan), 1)
    with pytest.raises(DataError, match="does not exist"):
        FaissIndex.load(tmp_path / "missing.faiss")
    (tmp_path / "junk.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(DataError, match="not a readable faiss index"):
        FaissIndex.load(tmp_path / "junk.faiss")


def test_exact_index_has_the_faiss_interface(tmp_path: Path) -> None:
    db, q = _unit(50, 8, 8), _unit(4, 8, 9)
    ids = np.arange(50) + 500
    exact, flat = ExactIndex(8), FaissIndex(8)
    exact.add(db, ids)
    flat.add(db, ids)
    np.testing.assert_array_equal(exact.search(q, 5)[1], flat.search(q, 5)[1])
    exact.save(tmp_path / "v.npz")
    back = ExactIndex.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(back.search(q, 60)[1], exact.search(q, 60)[1])
    np.testing.assert_allclose(back.reconstruct([503]), db[[3]], atol=1e-6)
    assert (back.search(q, 60)[1][:, 50:] == -1).all()


def test_hnsw_searches_wide_enough_to_find_the_true_neighbours() -> None:
    """faiss's default efSearch (16) misses a quarter of the true top 10 on clustered data; ours keeps 128."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((50, 32)).astype(np.float32)
    x = centres[rng.integers(0, 50, 5000)] + 0.5 * rng.standard_normal((5000, 32)).astype(np.float32)  # (5000, 32)
    q = centres[rng.integers(0, 50, 100)] + 0.5 * rng.standard_normal((100, 32)).astype(np.float32)  # (100, 32)
    hnsw, flat = FaissIndex(32, "HNSW16"), FaissIndex(32, "Flat")
    for index in (hnsw, flat):
        index.add(x, np.arange(5000))
    for allowed in (None, np.arange(0, 5000, 3)):
        found, truth = hnsw.search(q, 10, allowed)[1], flat.search(q, 10, allowed)[1]
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
        assert recall > 0.95, (allowed is None, recall)
