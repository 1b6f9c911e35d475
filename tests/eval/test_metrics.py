"""Retrieval metrics against naive loops, hand-computed values, scikit-learn and torchmetrics.

Ties are provoked on purpose: embeddings are small integers (exact dot products in any float dtype), so many
scores are equal and the "lower gallery index first" rule decides the order.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, label_ranking_average_precision_score
from torchmetrics.functional.retrieval import (
    retrieval_average_precision,
    retrieval_hit_rate,
    retrieval_precision,
)

from semspace.eval import (
    average_precision,
    mean_average_precision,
    precision_at_k,
    recall_at_k,
    recall_at_ks,
    relevance_matrix,
    retrieval_metrics,
    similarity_ranking,
)

_ENV_DEVICE = os.environ.get("SEMSPACE_TEST_DEVICE", "cpu")
DEVICES = [pytest.param("cpu", id="cpu")]
if _ENV_DEVICE.startswith("cuda"):
    DEVICES.append(pytest.param(_ENV_DEVICE, id="cuda", marks=pytest.mark.gpu))
_ENV_DTYPES = [d for d in os.environ.get("SEMSPACE_TEST_DTYPES", "").split(",") if d]
DTYPES = [getattr(torch, d) for d in dict.fromkeys(["float32", "float64", *_ENV_DTYPES])]
SEEDS = [0, 1, 2]


# ---- data and naive references ------------------------------------------------------------------
def _int_data(seed: int, n_q: int = 13, n_g: int = 29, dim: int = 3, n_cls: int = 4) -> dict[str, torch.Tensor]:
    """Integer-valued embeddings in {-1, 0, 1}: exact scores and many ties."""
    rng = np.random.default_rng(seed)
    return {
        "q": torch.from_numpy(rng.integers(-1, 2, size=(n_q, dim))),
        "g": torch.from_numpy(rng.integers(-1, 2, size=(n_g, dim))),
        "ql": torch.from_numpy(rng.integers(0, n_cls, size=n_q)),
        "gl": torch.from_numpy(rng.integers(0, n_cls, size=n_g)),
        "excl": torch.from_numpy(rng.integers(-1, n_g, size=n_q)),
    }


def _naive_ranking(q: torch.Tensor, g: torch.Tensor, exclude: list[int] | None = None) -> list[list[tuple[float, int]]]:
    """Dot-product ranking in exact Python arithmetic, sorted by (-score, index), excluded items dropped."""
    rows = []
    for i, qv in enumerate(q.tolist()):
        scored = [(sum(a * b for a, b in zip(qv, gv, strict=True)), j) for j, gv in enumerate(g.tolist())]
        scored = [(s, j) for s, j in scored if exclude is None or j != exclude[i]]
        rows.append(sorted(scored, key=lambda t: (-t[0], t[1])))
    return rows


def _naive_ap(rel: list[bool], n_relevant: int | None = None) -> float:
    hits, total = 0, 0.0
    for r, is_rel in enumerate(rel, start=1):
        if is_rel:
            hits += 1
            total += hits / r
    denom = hits if n_relevant is None else n_relevant
    return total / denom if denom else 0.0


def _random_relevance(seed: int, n_q: int = 17, n_items: int = 23, p: float = 0.3) -> torch.Tensor:
    rel = torch.from_numpy(np.random.default_rng(seed).random((n_q, n_items)) < p)  # (Q, K)
    rel[0] = False  # always one query without any relevant item
    return rel


# ---- similarity_ranking ---------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("use_exclude", [False, True])
@pytest.mark.parametrize("k", [None, 1, 7])
def test_ranking_matches_naive_loop(device: str, dtype: torch.dtype, seed: int, use_exclude: bool, k: int | None):
    d = _int_data(seed)
    excl = d["excl"] if use_exclude else None
    scores, idx = similarity_ranking(
        d["q"].to(device, dtype), d["g"].to(device, dtype), k=k, exclude=excl, normalize=False, chunk_size=4
    )
    assert scores.device.type == idx.device.type == torch.device(device).type
    assert scores.dtype == dtype and idx.dtype == torch.long
    width = d["g"].shape[0] if k is None else k
    assert scores.shape == idx.shape == (d["q"].shape[0], width)
    naive = _naive_ranking(d["q"], d["g"], excl.tolist() if excl is not None else None)
    for i, row in enumerate(naive):
        row = row[:width]
        pad = width - len(row)
        assert idx[i].tolist() == [j for _, j in row] + [-1] * pad
        assert scores[i].tolist() == [float(s) for s, _ in row] + [-math.inf] * pad


def test_ties_go_to_the_lower_index():
    g = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    q = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # the zero query ties every item
    _, idx = similarity_ranking(q, g)
    assert idx.tolist() == [[1, 3, 4, 0, 2], [0, 1, 2, 3, 4]]
    _, idx = similarity_ranking(q, g, k=2)
    assert idx.tolist() == [[1, 3], [0, 1]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_exclusion_drops_items_and_pads(dtype: torch.dtype):
    d = _int_data(3)
    q, g = d["q"].to(dtype), d["g"].to(dtype)
    excl = torch.arange(q.shape[0]) % g.shape[0]
    excl[1] = -1
    scores, idx = similarity_ranking(q, g, exclude=excl)
    for i in range(q.shape[0]):
        if excl[i] >= 0:
            assert int(excl[i]) not in idx[i].tolist()
            assert idx[i, -1] == -1 and scores[i, -1] == -math.inf
            assert sorted(idx[i, :-1].tolist()) == sorted(set(range(g.shape[0])) - {int(excl[i])})
        else:
            assert sorted(idx[i].tolist()) == list(range(g.shape[0]))
    # several exclusions per query, duplicates and -1 mixed in
    excl2 = torch.stack([excl, torch.zeros_like(excl), excl, torch.full_like(excl, -1)], dim=1)  # (Q, 4)
    _, idx2 = similarity_ranking(q, g, exclude=excl2, k=g.shape[0])
    for i in range(q.shape[0]):
        dropped = {int(e) for e in excl2[i] if e >= 0}
        assert not dropped & set(idx2[i].tolist())
        assert (idx2[i] == -1).sum() == len(dropped)
        assert idx2[i, : g.shape[0] - len(dropped)].ge(0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_chunk_size_invariance(dtype: torch.dtype, seed: int):
    d = _int_data(seed, n_q=11)
    q, g = d["q"].to(dtype), d["g"].to(dtype)
    ref = similarity_ranking(q, g, exclude=d["excl"], chunk_size=1024)
    ref_m = retrieval_metrics(q, g, d["ql"], d["gl"], map_at=("all", 5), precision_at=(3,), exclude=d["excl"])
    for chunk in (1, 3):
        out = similarity_ranking(q, g, exclude=d["excl"], chunk_size=chunk)
        assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])
        m = retrieval_metrics(
            q, g, d["ql"], d["gl"], map_at=("all", 5), precision_at=(3,), exclude=d["excl"], chunk_size=chunk
        )
        assert m == ref_m


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_duplicates_of_continuous_vectors_tie_by_index_in_any_chunking(device: str, dtype: torch.dtype, seed: int):
    rng = np.random.default_rng(seed)
    base = torch.from_numpy(rng.normal(size=(6, 16)))
    dup = torch.from_numpy(rng.integers(0, 6, size=40))  # gallery item j is a copy of base[dup[j]]
    g = base[dup].to(device, dtype)  # (40, 16)
    q = torch.from_numpy(rng.normal(size=(9, 16))).to(device, dtype)
    ref = similarity_ranking(q, g, chunk_size=1024)
    for chunk in (1, 3):
        out = similarity_ranking(q, g, chunk_size=chunk)
        assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])
    for row_s, row_i in zip(ref[0].tolist(), ref[1].tolist(), strict=True):
        groups = [int(dup[j]) for j in row_i]
        assert all(a != b or s1 == s2 for a, b, s1, s2 in zip(groups, groups[1:], row_s, row_s[1:], strict=False))
        for c in set(groups):  # copies of one vector are contiguous and in index order
            pos = [r for r, gc in enumerate(groups) if gc == c]
            assert pos == list(range(pos[0], pos[0] + len(pos)))
            assert [row_i[r] for r in pos] == sorted(row_i[r] for r in pos)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_is_scale_invariant(seed: int):
    d = _int_data(seed)
    q, g = d["q"].double(), d["g"].double()
    scale = 2.0 ** torch.from_numpy(np.random.default_rng(seed).integers(-3, 4, size=(g.shape[0], 1)))  # (N, 1)
    s1, i1 = similarity_ranking(q, g)
    s2, i2 = similarity_ranking(q * 4, g * scale)  # powers of two: normalisation is exact
    assert torch.equal(i1, i2) and torch.equal(s1, s2)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_matches_naive_on_continuous_data(seed: int):
    rng = np.random.default_rng(seed)
    q, g = rng.normal(size=(9, 5)), rng.normal(size=(21, 5))
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T
    scores, idx = similarity_ranking(torch.from_numpy(q), torch.from_numpy(g), k=10)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-cos, axis=1, kind="stable")[:, :10])
    np.testing.assert_allclose(scores.numpy(), -np.sort(-cos, axis=1)[:, :10], rtol=0, atol=1e-7)  # float32 key


def test_ranking_rejects_bad_inputs():
    q, g = torch.zeros(2, 3), torch.zeros(4, 3)
    with pytest.raises(ValueError, match="dims differ"):
        similarity_ranking(q, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN"):
        similarity_ranking(torch.full((2, 3), math.nan), g)
    with pytest.raises(ValueError, match="positive int"):
        similarity_ranking(q, g, k=0)
    with pytest.raises(ValueError, match="chunk_size"):
        similarity_ranking(q, g, chunk_size=0)
    with pytest.raises(ValueError, match="exclude"):
        similarity_ranking(q, g, exclude=torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="exclude"):
        similarity_ranking(q, g, exclude=torch.tensor([0]))


# ---- relevance and the metrics on it -------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_relevance_matrix_matches_naive(seed: int):
    d = _int_data(seed)
    _, idx = similarity_ranking(d["q"].float(), d["g"].float(), exclude=d["excl"])
    rel = relevance_matrix(d["ql"], d["gl"], idx)
    assert rel.dtype == torch.bool and rel.shape == idx.shape
    for i in range(idx.shape[0]):
        for r in range(idx.shape[1]):
            j = int(idx[i, r])
            assert bool(rel[i, r]) == (j >= 0 and int(d["gl"][j]) == int(d["ql"][i]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 3, 10, 40])
def test_recall_and_precision_match_naive_and_torchmetrics(seed: int, k: int):
    rel = _random_relevance(seed)  # (17, 23)
    n_items = rel.shape[1]
    rows = rel.tolist()
    naive_recall = sum(any(row[:k]) for row in rows) / len(rows)
    naive_prec = sum(sum(row[:k]) / min(k, n_items) for row in rows) / len(rows)
    assert recall_at_k(rel, k) == pytest.approx(naive_recall, abs=1e-12)
    assert precision_at_k(rel, k) == pytest.approx(naive_prec, abs=1e-12)
    preds = torch.arange(n_items, 0, -1, dtype=torch.float32)  # strictly decreasing, positive: rank order
    tm_hit = [float(retrieval_hit_rate(preds, row, top_k=k)) for row in rel]
    tm_prec = [float(retrieval_precision(preds, row, top_k=k, adaptive_k=True)) for row in rel]
    assert recall_at_k(rel, k) == pytest.approx(float(np.mean(tm_hit)), abs=1e-6)
    assert precision_at_k(rel, k) == pytest.approx(float(np.mean(tm_prec)), abs=1e-6)


def test_recall_at_ks_keys_and_values():
    rel = _random_relevance(5)
    out = recall_at_ks(rel, ks=(1, 5, 10, 50))
    assert list(out) == ["R@1", "R@5", "R@10", "R@50"]
    assert all(out[f"R@{k}"] == recall_at_k(rel, k) for k in (1, 5, 10, 50))
    assert out["R@1"] <= out["R@5"] <= out["R@10"] <= out["R@50"] <= 1.0


def test_hand_computed_average_precision():
    rel = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=torch.bool)
    ap = average_precision(rel)
    assert ap.dtype == torch.float64
    torch.testing.assert_close(ap, torch.tensor([(1 + 2 / 3) / 2, 0.0, 1 / 2, 1.0], dtype=torch.float64))
    ap4 = average_precision(rel[:1], n_relevant=4)  # two more relevant items were never retrieved
    assert float(ap4[0]) == pytest.approx((1 + 2 / 3) / 4)
    assert mean_average_precision(rel) == pytest.approx(((1 + 2 / 3) / 2 + 0 + 0.5 + 1) / 4)
    assert mean_average_precision(rel, k=1) == pytest.approx((1 + 0 + 0 + 1) / 4)  # mAP@1: hits-in-top-1 normaliser
    assert precision_at_k(rel, 2) == pytest.approx((0.5 + 0 + 0.5 + 1) / 4)
    assert recall_at_k(rel, 1) == 0.5


def test_queries_without_relevant_items_give_zero_not_nan():
    rel = torch.zeros(3, 5, dtype=torch.bool)
    assert average_precision(rel).tolist() == [0.0, 0.0, 0.0]
    assert mean_average_precision(rel) == 0.0 and mean_average_precision(rel, k=2) == 0.0
    assert recall_at_k(rel, 3) == 0.0 and precision_at_k(rel, 3) == 0.0
    q, g = torch.eye(3), torch.eye(3)
    m = retrieval_metrics(q, g, torch.tensor([7, 8, 9]), torch.tensor([0, 1, 2]), map_at=("all", 2), precision_at=(2,))
    assert all(v == 0.0 for v in m.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_average_precision_matches_naive_and_sklearn(seed: int):
    rel = _random_relevance(seed)
    ap = average_precision(rel)
    scores = np.arange(rel.shape[1], 0, -1, dtype=np.float64)  # strictly decreasing: no sklearn tie grouping
    for i, row in enumerate(rel.tolist()):
        assert float(ap[i]) == pytest.approx(_naive_ap(row), abs=1e-12)
        if any(row):
            assert float(ap[i]) == pytest.approx(average_precision_score(np.array(row), scores), abs=1e-12)
    has_rel = rel.any(dim=1)
    lrap = label_ranking_average_precision_score(rel[has_rel].numpy(), np.tile(scores, (int(has_rel.sum()), 1)))
    assert float(ap[has_rel].mean()) == pytest.approx(lrap, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 4, 10, None])
def test_map_at_k_matches_sempcyc_naive_and_torchmetrics(seed: int, k: int | None):
    rel = _random_relevance(seed)
    preds = torch.arange(rel.shape[1], 0, -1, dtype=torch.float64)  # positive: torchmetrics drops preds <= 0
    scores = preds.numpy()
    # sem-pcyc apsak: sklearn AP on the top k, 0 when no relevant item is in the top k
    top = rel.shape[1] if k is None else k
    sem_pcyc = [average_precision_score(row[:top], scores[:top]) if any(row[:top]) else 0.0 for row in rel.numpy()]
    tm = [float(retrieval_average_precision(preds, row, top_k=k)) for row in rel]
    value = mean_average_precision(rel, k=k)
    assert value == pytest.approx(float(np.mean(sem_pcyc)), abs=1e-12)
    assert value == pytest.approx(float(np.mean(tm)), abs=1e-6)
    assert value == pytest.approx(np.mean([_naive_ap(row[:top]) for row in rel.tolist()]), abs=1e-12)


def test_metric_inputs_are_validated():
    rel = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="2-D"):
        recall_at_k(rel[0], 1)
    with pytest.raises(ValueError, match="zero queries"):
        mean_average_precision(rel[:0])
    with pytest.raises(ValueError, match="positive int"):
        precision_at_k(rel, 0)
    with pytest.raises(ValueError, match="n_relevant"):
        average_precision(rel, n_relevant=2)
    with pytest.raises(ValueError, match="past the gallery"):
        relevance_matrix(torch.zeros(1), torch.zeros(2), torch.tensor([[0, 2]]))


# ---- retrieval_metrics end to end -----------------------------------------------------------------
def _dscmr_map(q: np.ndarray, g: np.ndarray, ql: np.ndarray, gl: np.ndarray) -> float:
    """DSCMR ``fx_calc_map_label`` re-typed as a loop: cosine, full ranking, AP over relevant positions."""
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T
    aps = []
    for i in range(q.shape[0]):
        p = r = 0.0
        for j, item in enumerate(np.argsort(-cos[i], kind="stable")):
            if ql[i] == gl[item]:
                r += 1
                p += r / (j + 1)
        aps.append(p / r if r > 0 else 0.0)
    return float(np.mean(aps))


@pytest.mark.parametrize("seed", SEEDS)
def test_map_all_matches_dscmr_loop(seed: int):
    rng = np.random.default_rng(seed)
    q, g = rng.normal(size=(15, 6)), rng.normal(size=(31, 6))
    ql, gl = rng.integers(0, 5, size=15), rng.integers(0, 5, size=31)
    m = retrieval_metrics(torch.from_numpy(q), torch.from_numpy(g), torch.from_numpy(ql), torch.from_numpy(gl))
    assert m["mAP@all"] == pytest.approx(_dscmr_map(q, g, ql, gl), abs=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("use_exclude", [False, True])
def test_retrieval_metrics_match_naive_loops(device: str, dtype: torch.dtype, seed: int, use_exclude: bool):
    d = _int_data(seed, n_q=12, n_g=40)
    excl = d["excl"] if use_exclude else None
    m = retrieval_metrics(
        d["q"].to(device, dtype),
        d["g"].to(device, dtype),
        d["ql"].to(device),
        d["gl"].to(device),
        ks=(1, 5, 10),
        map_at=("all", 8),
        precision_at=(5, 100),
        exclude=excl,
        normalize=False,
        chunk_size=5,
    )
    assert list(m) == ["R@1", "R@5", "R@10", "mAP@all", "mAP@8", "P@5", "P@100"]
    naive = _naive_ranking(d["q"], d["g"], excl.tolist() if excl is not None else None)
    n_g = d["g"].shape[0]
    rels = [[int(d["gl"][j]) == int(d["ql"][i]) for _, j in row] for i, row in enumerate(naive)]
    n_relevant = [
        sum(int(d["gl"][j]) == int(d["ql"][i]) for j in range(n_g) if excl is None or j != int(excl[i]))
        for i in range(len(naive))
    ]
    expected = {
        **{f"R@{k}": np.mean([any(r[:k]) for r in rels]) for k in (1, 5, 10)},
        "mAP@all": np.mean([_naive_ap(r, n) for r, n in zip(rels, n_relevant, strict=True)]),
        "mAP@8": np.mean([_naive_ap(r[:8]) for r in rels]),
        "P@5": np.mean([sum(r[:5]) / 5 for r in rels]),
        "P@100": np.mean([sum(r) / n_g for r in rels]),  # gallery smaller than 100: divide by its size
    }
    for key, value in expected.items():
        assert m[key] == pytest.approx(float(value), abs=1e-12), key


def test_retrieval_metrics_agree_with_the_building_blocks():
    d = _int_data(7, n_q=10, n_g=25)
    q, g = d["q"].float(), d["g"].float()
    _, idx = similarity_ranking(q, g, exclude=d["excl"])
    rel = relevance_matrix(d["ql"], d["gl"], idx)
    m = retrieval_metrics(q, g, d["ql"], d["gl"], ks=(1, 5), map_at=("all", 6), precision_at=(4,), exclude=d["excl"])
    assert m["R@1"] == recall_at_k(rel, 1) and m["R@5"] == recall_at_k(rel, 5)
    assert m["mAP@all"] == pytest.approx(mean_average_precision(rel), abs=1e-12)
    assert m["mAP@6"] == pytest.approx(mean_average_precision(rel, k=6), abs=1e-12)
    assert m["P@4"] == pytest.approx(precision_at_k(rel, 4), abs=1e-12)
    only_recall = retrieval_metrics(q, g, d["ql"], d["gl"], ks=(1, 50), map_at=(), exclude=d["excl"])
    assert only_recall == {"R@1": recall_at_k(rel, 1), "R@50": recall_at_k(rel, 50)}  # ks beyond the gallery: all


def test_retrieval_metrics_rejects_bad_inputs():
    q, g = torch.eye(3), torch.eye(3)
    labels = torch.arange(3)
    with pytest.raises(ValueError, match="map_at"):
        retrieval_metrics(q, g, labels, labels, map_at=("ALL",))
    with pytest.raises(ValueError, match="query_labels"):
        retrieval_metrics(q, g, labels[:2], labels)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        retrieval_metrics(q[:0], g, labels[:0], labels)
