"""Retrieval metrics as pure functions over tensors (STYLE F.19).

Nothing here knows about data sets: protocols (``eval/protocols/``) decide what a query, the gallery, a
label and an excluded item are, and add direction prefixes to the keys (``sketch_to_photo_mAP@all``).

Ranking. :func:`similarity_ranking` scores queries against the gallery by cosine similarity (or raw dot
product), one chunk of queries at a time, and sorts each row by descending score with a *stable* sort, so
equal scores keep gallery order: **ties go to the lower gallery index**, on CPU and CUDA alike. Scores are
computed in float64 and snapped to a grid of 2**-28 (about 4e-9) of their bound, 1 for cosine: scores that
agree to that precision are ties. Without the grid, BLAS sums a chunk of 1 query and one of 1024 in
different orders, the last bits differ, and mathematically equal scores (duplicate gallery items) would be
ordered by rounding noise, differently for each ``chunk_size``. Items in
``exclude`` (TIRG removes the query image from its own ranking, ``google/tirg: test_retrieval.py``) never
appear; when a row has fewer than ``k`` eligible items its tail is padded with index ``-1`` and score
``-inf``, which :func:`relevance_matrix` marks as not relevant.

Metrics, all on a boolean relevance matrix ``rel`` (Q, K) of ranked lists, rank r = 1..K:

* ``recall_at_k``: fraction of queries with *any* relevant item in the top k (TIRG / CSS definition, the
  Recall@K of LTT: 1, 5, 10, 50).
* ``precision_at_k``: mean over queries of (#relevant in the top k) / k (ZS-SBIR Precision@100/@200,
  ``AnjanDutta/sem-pcyc: src/utils.py::prec``). When the ranking is shorter than k (a gallery of fewer
  than k items) the divisor is the ranking length, as in sem-pcyc's ``min(k, len(predicted))``.
* ``average_precision``: AP_q = (1 / R_q) * sum_{r : rel[q, r]} P_q(r), with P_q(r) = (#relevant in the
  top r) / r, accumulated in float64. The normaliser R_q is

  - **mAP@all** (full ranking, ``k=None``): the number of relevant items in the ranking, which over a
    full ranking is the number of relevant gallery items (excluded items removed). This is CHTN's MATLAB
    ``evaluateMAP_fast_general.m`` and DSCMR's ``evaluate.py::fx_calc_map_label`` (cosine, full ranking,
    mean of precision at each relevant position; ``penghu-cs/DSCMR``), and the ZS-SBIR mAP@all;
  - **mAP@k** (``k`` given): the number of relevant items *retrieved within the top k*, the common
    ZS-SBIR convention: ``AnjanDutta/sem-pcyc: src/utils.py::apsak`` keeps the top k and runs scikit-learn's
    ``average_precision_score`` on them (CVAE/SEM-PCYC mAP@200); DSCMR's ``fx_calc_map_label(k=...)``
    divides by the same count, and so does ``torchmetrics.functional.retrieval_average_precision(top_k=k)``;
  - an explicit ``n_relevant`` (for other variants, e.g. min(k, R) normalisers).

  **Queries with no relevant item** (R_q = 0) get AP = 0, as in CHTN/DSCMR and sem-pcyc; metrics are
  never NaN. They are kept in the mean, so they pull mAP down; protocols that want to drop them filter
  the queries first.

Differences from the reference codes, on purpose: they break score ties by an unstable ``argsort``
(scikit-learn even averages over tied scores); here ties are broken by gallery index, deterministically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange

logger = logging.getLogger(__name__)

__all__ = [
    "average_precision",
    "mean_average_precision",
    "precision_at_k",
    "recall_at_k",
    "recall_at_ks",
    "relevance_matrix",
    "retrieval_metrics",
    "similarity_ranking",
]


# ---- validation helpers -------------------------------------------------------------------------
def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name} must be a positive int, got {k!r}")
    return k


def _check_relevance(relevance: torch.Tensor) -> torch.Tensor:
    if relevance.ndim != 2:
        raise ValueError(f"relevance must be 2-D (queries, ranked items), got shape {tuple(relevance.shape)}")
    if relevance.shape[0] == 0:
        raise ValueError("relevance has no queries; a metric over zero queries is undefined")
    return relevance.bool()


def _check_embeddings(query_emb: torch.Tensor, gallery_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    for name, t in (("query_emb", query_emb), ("gallery_emb", gallery_emb)):
        if t.ndim != 2 or not t.is_floating_point():
            raise ValueError(f"{name} must be a 2-D float tensor (items, dim), got {t.dtype} {tuple(t.shape)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or inf values")
    if query_emb.shape[1] != gallery_emb.shape[1]:
        raise ValueError(f"embedding dims differ: query_emb {query_emb.shape[1]} vs gallery_emb {gallery_emb.shape[1]}")
    if query_emb.device != gallery_emb.device:
        raise ValueError(f"query_emb is on {query_emb.device} but gallery_emb on {gallery_emb.device}")
    dtype = torch.promote_types(query_emb.dtype, gallery_emb.dtype)
    return query_emb.to(dtype), gallery_emb.to(dtype)


def _check_exclude(
    exclude: torch.Tensor | None, n_queries: int, n_gallery: int, device: torch.device
) -> torch.Tensor | None:
    if exclude is None:
        return None
    excl = exclude.to(device=device, dtype=torch.long)
    if excl.ndim == 1:
        excl = rearrange(excl, "q -> q 1")  # (Q, 1)
    if excl.ndim != 2 or excl.shape[0] != n_queries:
        raise ValueError(f"exclude must have shape ({n_queries},) or ({n_queries}, E), got {tuple(exclude.shape)}")
    if excl.numel() and (bool((excl < -1).any()) or bool((excl >= n_gallery).any())):
        raise ValueError(f"exclude holds indices outside [-1, {n_gallery - 1}] (-1 means: exclude nothing)")
    return excl  # (Q, E)


# ---- ranking ------------------------------------------------------------------------------------
_GRID_BITS = 28  # scores are snapped to multiples of 2**-28 times their bound (about 4e-9 relative)


def _score_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def _prepare_gallery(g: torch.Tensor, normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = g.to(_score_dtype(g.device))  # (N, D)
    if normalize:
        g = F.normalize(g, dim=-1)  # (N, D)
    return g, g.abs().amax() if g.numel() else g.new_zeros(())  # (N, D), ()


def _rank_chunk(
    q: torch.Tensor, g: torch.Tensor, g_max: torch.Tensor, width: int, excl: torch.Tensor | None, normalize: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    q = q.to(g.dtype)  # (C, D)
    if normalize:
        q = F.normalize(q, dim=-1)  # (C, D)
    scores = q @ rearrange(g, "n d -> d n")  # (C, N), float64
    # snap to a power-of-two grid below a chunk-independent bound (1 for cosine, max|q| * max|g| for a dot
    # product), so BLAS rounding noise cannot reorder equal scores (module docstring)
    bound = torch.ones_like(q[:, :1]) if normalize else q.abs().amax(dim=1, keepdim=True) * g_max  # (C, 1)
    unit = torch.ldexp(torch.ones_like(bound), torch.frexp(bound).exponent - _GRID_BITS)  # (C, 1)
    scores = torch.round(scores / unit) * unit  # (C, N)
    mask = None
    if excl is not None:
        n = g.shape[0]
        target = torch.where(excl >= 0, excl, n)  # (C, E); "no exclusion" writes into a spare column
        mask = torch.zeros(scores.shape[0], n + 1, dtype=torch.bool, device=scores.device)  # (C, N + 1)
        mask.scatter_(1, target, True)
        mask = mask[:, :n]  # (C, N)
        scores = scores.masked_fill(mask, float("-inf"))  # (C, N)
    # a stable sort keeps gallery order among equal scores: ties go to the lower index
    values, order = torch.sort(scores, dim=1, descending=True, stable=True)  # (C, N), (C, N)
    values, order = values[:, :width], order[:, :width]  # (C, K), (C, K)
    if mask is not None:
        order = order.masked_fill(mask.gather(1, order), -1)  # (C, K); only the padded tail can be excluded
    return values, order


def similarity_ranking(
    query_emb: torch.Tensor,
    gallery_emb: torch.Tensor,
    *,
    k: int | None = None,
    exclude: torch.Tensor | None = None,
    normalize: bool = True,
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ranks the gallery for every query by descending similarity, ties by lower gallery index.

    Args:
        query_emb: Query embeddings (Q, D).
        gallery_emb: Gallery embeddings (N, D), on the same device.
        k: Keep the top ``k`` items of each ranking; ``None`` keeps the full ranking (K = N).
        exclude: Gallery indices to drop from each query's ranking, (Q,) or (Q, E); ``-1`` drops nothing.
        normalize: Cosine similarity when True, raw dot product when False.
        chunk_size: Queries scored at once; memory is O(chunk_size * N).

    Returns:
        ``(scores, indices)``, both (Q, min(k, N)); scores are the snapped sort keys (module docstring), in
        the embeddings' dtype. Rows with fewer eligible items than that (because of ``exclude``) end with
        padding: index ``-1``, score ``-inf``.
    """
    q, g = _check_embeddings(query_emb, gallery_emb)
    chunk_size = _check_k(chunk_size, "chunk_size")
    n = g.shape[0]
    width = n if k is None else min(_check_k(k), n)
    excl = _check_exclude(exclude, q.shape[0], n, q.device)
    g, g_max = _prepare_gallery(g, normalize)  # (N, D), ()
    scores, indices = [], []
    for start in range(0, q.shape[0], chunk_size):
        stop = start + chunk_size
        s, i = _rank_chunk(q[start:stop], g, g_max, width, None if excl is None else excl[start:stop], normalize)
        scores.append(s.to(q.dtype))
        indices.append(i)
    if not scores:
        return q.new_zeros(0, width), torch.zeros(0, width, dtype=torch.long, device=q.device)
    return torch.cat(scores), torch.cat(indices)  # (Q, K), (Q, K)


def relevance_matrix(
    query_labels: torch.Tensor, gallery_labels: torch.Tensor, ranked_indices: torch.Tensor
) -> torch.Tensor:
    """Marks which ranked items share the query's label.

    Args:
        query_labels: Label of each query (Q,).
        gallery_labels: Label of each gallery item (N,).
        ranked_indices: Gallery indices in rank order (Q, K); ``-1`` (padding) is never relevant.

    Returns:
        Bool tensor (Q, K): ``True`` where the item at that rank is relevant to the query.
    """
    if query_labels.ndim != 1 or gallery_labels.ndim != 1 or ranked_indices.ndim != 2:
        raise ValueError(
            "expected query_labels (Q,), gallery_labels (N,), ranked_indices (Q, K); got "
            f"{tuple(query_labels.shape)}, {tuple(gallery_labels.shape)}, {tuple(ranked_indices.shape)}"
        )
    if ranked_indices.shape[0] != query_labels.shape[0]:
        raise ValueError(f"{query_labels.shape[0]} query labels for {ranked_indices.shape[0]} ranked lists")
    if ranked_indices.numel() and int(ranked_indices.max()) >= gallery_labels.shape[0]:
        raise ValueError(f"ranked_indices point past the gallery of {gallery_labels.shape[0]} labels")
    device = ranked_indices.device
    valid = ranked_indices >= 0  # (Q, K)
    ranked_labels = gallery_labels.to(device)[ranked_indices.clamp(min=0)]  # (Q, K)
    return (ranked_labels == rearrange(query_labels.to(device), "q -> q 1")) & valid  # (Q, K)


# ---- per-query building blocks ------------------------------------------------------------------
def _hits_at(rel: torch.Tensor, k: int) -> torch.Tensor:
    return rel[:, :k].any(dim=1)  # (Q,)


def _precision_at(rel: torch.Tensor, k: int) -> torch.Tensor:
    denom = max(min(k, rel.shape[1]), 1)  # a ranking shorter than k divides by its length
    return rel[:, :k].sum(dim=1, dtype=torch.float64) / denom  # (Q,)


def average_precision(relevance: torch.Tensor, n_relevant: torch.Tensor | int | None = None) -> torch.Tensor:
    """Non-interpolated average precision of each ranked list, in float64.

    AP_q = (1 / R_q) * sum over relevant ranks r of precision@r (see the module docstring).

    Args:
        relevance: Bool relevance of the ranked items (Q, K).
        n_relevant: The normaliser R_q, an int or (Q,) tensor; ``None`` uses the number of relevant items in
            ``relevance`` (the relevant gallery items for a full ranking). It may not be smaller than that.

    Returns:
        AP per query (Q,), float64 on the input device; 0 for queries with R_q = 0.
    """
    rel = _check_relevance(relevance).to(torch.float64)  # (Q, K)
    ranks = torch.arange(1, rel.shape[1] + 1, dtype=torch.float64, device=rel.device)  # (K,)
    precision = rel.cumsum(dim=1) / ranks  # (Q, K)
    summed = (precision * rel).sum(dim=1)  # (Q,)
    found = rel.sum(dim=1)  # (Q,)
    if n_relevant is None:
        denom = found
    else:
        denom = torch.as_tensor(n_relevant, dtype=torch.float64, device=rel.device).expand_as(found)  # (Q,)
        if bool((denom < found).any()):
            raise ValueError("n_relevant is smaller than the number of relevant items in the ranking")
    return torch.where(denom > 0, summed / denom.clamp(min=1), torch.zeros_like(summed))  # (Q,)


def mean_average_precision(
    relevance: torch.Tensor, *, k: int | None = None, n_relevant: torch.Tensor | int | None = None
) -> float:
    """Mean average precision over queries: mAP@all, or mAP@k with ``k``.

    Args:
        relevance: Bool relevance (Q, K); the full ranking for mAP@all, at least the top ``k`` for mAP@k.
        k: Truncate to the top ``k`` (mAP@k, normalised by the relevant items found there, as sem-pcyc);
            ``None`` for mAP@all (normalised by the relevant items in the full ranking, as CHTN/DSCMR).
        n_relevant: Explicit normaliser, see :func:`average_precision`.

    Returns:
        The mean of :func:`average_precision` over all queries (queries with no relevant item count as 0).
    """
    rel = _check_relevance(relevance)
    if k is not None:
        rel = rel[:, : _check_k(k)]  # (Q, k)
    return float(average_precision(rel, n_relevant).mean())


def recall_at_k(relevance: torch.Tensor, k: int) -> float:
    """Fraction of queries with at least one relevant item in the top ``k`` (TIRG / CSS Recall@K).

    Args:
        relevance: Bool relevance (Q, K) of at least the top ``k`` ranked items.
        k: Cut-off rank.

    Returns:
        Recall@k in [0, 1].
    """
    rel = _check_relevance(relevance)
    return float(_hits_at(rel, _check_k(k)).to(torch.float64).mean())


def recall_at_ks(relevance: torch.Tensor, ks: Sequence[int] = (1, 5, 10, 50)) -> dict[str, float]:
    """:func:`recall_at_k` at several cut-offs.

    Args:
        relevance: Bool relevance (Q, K) of at least the top ``max(ks)`` ranked items.
        ks: Cut-off ranks.

    Returns:
        ``{"R@1": ..., "R@5": ...}`` in the order of ``ks``.
    """
    return {f"R@{k}": recall_at_k(relevance, k) for k in ks}


def precision_at_k(relevance: torch.Tensor, k: int) -> float:
    """Mean over queries of (#relevant in the top ``k``) / ``k`` (ZS-SBIR Precision@k).

    Args:
        relevance: Bool relevance (Q, K) of at least the top ``k`` ranked items; if K < k (a gallery smaller
            than k) the divisor is K, as in sem-pcyc's ``prec``.
        k: Cut-off rank.

    Returns:
        Precision@k in [0, 1].
    """
    rel = _check_relevance(relevance)
    return float(_precision_at(rel, _check_k(k)).mean())


# ---- one-call evaluation ------------------------------------------------------------------------
def _parse_map_at(map_at: Sequence[int | str]) -> list[int | None]:
    cutoffs: list[int | None] = []
    for m in map_at:
        if m == "all":
            cutoffs.append(None)
        elif isinstance(m, int):
            cutoffs.append(_check_k(m, "map_at entry"))
        else:
            raise ValueError(f"map_at entries must be 'all' or a positive int, got {m!r}")
    return cutoffs


def retrieval_metrics(
    query_emb: torch.Tensor,
    gallery_emb: torch.Tensor,
    query_labels: torch.Tensor,
    gallery_labels: torch.Tensor,
    *,
    ks: Sequence[int] = (1, 5, 10, 50),
    map_at: Sequence[int | str] = ("all",),
    precision_at: Sequence[int] = (),
    exclude: torch.Tensor | None = None,
    normalize: bool = True,
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Ranks the gallery chunk by chunk and returns Recall@k, mAP@k/@all and Precision@k.

    Only one chunk of queries is ranked at a time (memory O(chunk_size * N)); the per-query values (float64)
    are kept and averaged once at the end, so the result does not depend on ``chunk_size``, to the bit.

    Args:
        query_emb: Query embeddings (Q, D).
        gallery_emb: Gallery embeddings (N, D).
        query_labels: Query labels (Q,); a gallery item is relevant when its label is equal.
        gallery_labels: Gallery labels (N,).
        ks: Recall cut-offs (``"R@k"``).
        map_at: ``"all"`` and/or cut-offs for mean average precision (``"mAP@all"``, ``"mAP@200"``).
        precision_at: Precision cut-offs (``"P@100"``).
        exclude: Gallery indices removed from each query's ranking, see :func:`similarity_ranking`.
        normalize: Cosine similarity when True, raw dot product when False.
        chunk_size: Queries ranked at once.

    Returns:
        ``{"R@1": ..., "mAP@all": ..., "P@100": ...}`` (no direction prefix; protocols add it).
    """
    q, g = _check_embeddings(query_emb, gallery_emb)
    chunk_size = _check_k(chunk_size, "chunk_size")
    n_q, n = q.shape[0], g.shape[0]
    if n_q == 0 or n == 0:
        raise ValueError(f"nothing to evaluate: {n_q} queries, {n} gallery items")
    if query_labels.shape != (n_q,) or gallery_labels.shape != (n,):
        raise ValueError(
            f"expected query_labels ({n_q},) and gallery_labels ({n},), "
            f"got {tuple(query_labels.shape)} and {tuple(gallery_labels.shape)}"
        )
    ks = [_check_k(k) for k in ks]
    precision_at = [_check_k(k, "precision_at entry") for k in precision_at]
    cutoffs = _parse_map_at(map_at)
    depth = n if None in cutoffs else min(max([*ks, *precision_at, *(c for c in cutoffs if c)], default=1), n)
    excl = _check_exclude(exclude, n_q, n, q.device)
    query_labels, gallery_labels = query_labels.to(q.device), gallery_labels.to(q.device)
    g_ranked, g_max = _prepare_gallery(g, normalize)  # (N, D), ()
    logger.debug("retrieval_metrics: %d queries x %d gallery items, depth %d, chunk %d", n_q, n, depth, chunk_size)

    per_query: dict[str, list[torch.Tensor]] = {}  # O(Q) values per metric, averaged once at the end

    def add(key: str, values: torch.Tensor) -> None:
        per_query.setdefault(key, []).append(values.to(torch.float64))  # (C,)

    for start in range(0, n_q, chunk_size):
        stop = start + chunk_size
        _, order = _rank_chunk(
            q[start:stop], g_ranked, g_max, depth, None if excl is None else excl[start:stop], normalize
        )
        rel = relevance_matrix(query_labels[start:stop], gallery_labels, order)  # (C, depth)
        for k in ks:
            add(f"R@{k}", _hits_at(rel, k))
        for c in cutoffs:
            add(f"mAP@{'all' if c is None else c}", average_precision(rel if c is None else rel[:, :c]))
        for k in precision_at:
            add(f"P@{k}", _precision_at(rel, k))
    return {key: float(torch.cat(parts).mean()) for key, parts in per_query.items()}
