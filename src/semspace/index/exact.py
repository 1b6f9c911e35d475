"""Brute-force k-nearest-neighbour search in torch: the ground truth for approximate indexes, and an index
that works without faiss (DESIGN §5, STYLE F.20).

``exact_knn`` scores queries against the whole database by inner product, block by block (at most about
``max_elements`` scores in memory at once, as faiss's ``contrib/exhaustive_search.py::knn_ground_truth``), with
the one ranking of the project, ``eval.metrics.similarity_ranking``: scores in float64 snapped to a 2**-28 grid,
ties to the lower database position, so the exact index and the evaluation protocols rank identically.
``ExactIndex`` wraps it with the ``FaissIndex`` methods (add with ids, search, reconstruct, atomic save/load
as ``.npz``).
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semspace.errors import ConfigError, DataError
from semspace.eval.metrics import similarity_ranking
from semspace.index.faiss_index import as_float32_rows, l2_normalize
from semspace.utils.io import atomic_write

logger = logging.getLogger(__name__)


def exact_knn(
    queries: torch.Tensor | np.ndarray,
    database: torch.Tensor | np.ndarray,
    k: int,
    *,
    max_elements: int = 1 << 24,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` database rows with the largest inner product with each query.

    Args:
        queries: ``(Q, D)``.
        database: ``(N, D)``.
        k: neighbours per query; ``min(k, N)`` are returned.
        max_elements: bound on the number of scores held at once (sets the query block size).

    Returns:
        ``(scores (Q, k'), positions (Q, k') int64)`` best first, ``k' = min(k, N)``; ties are ranked by
        database position.
    """
    q = torch.as_tensor(queries).float()  # (Q, D)
    db = torch.as_tensor(database).float().to(q.device)  # (N, D)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise DataError(f"exact_knn needs (Q, D) queries and (N, D) database, got {tuple(q.shape)} / {tuple(db.shape)}")
    if k <= 0:
        raise ConfigError(f"k must be positive, got {k}")
    kk = min(k, db.shape[0])
    if q.shape[0] == 0 or kk == 0:
        return torch.empty(q.shape[0], kk), torch.empty(q.shape[0], kk, dtype=torch.int64)
    block = max(1, max_elements // max(1, db.shape[0]))
    scores, pos = similarity_ranking(q, db, k=kk, normalize=False, chunk_size=block)  # (Q, k'), (Q, k')
    return scores.float(), pos.long()


class ExactIndex:
    """Exact inner-product index with caller-chosen int64 ids, in memory (``FaissIndex``'s interface).

    Args:
        dim: vector dimension D.
        factory: kept for the record; only ``"Flat"`` (exact) is meaningful here.
        normalize: L2-normalise vectors on add and search (cosine similarity).
    """

    def __init__(self, dim: int, factory: str = "Flat", *, normalize: bool = True) -> None:
        if dim <= 0:
            raise ConfigError(f"index dimension must be positive, got {dim}")
        if factory != "Flat":
            logger.warning("exact index: factory %r ignored, searching exhaustively", factory)
        self.dim, self.factory, self.normalize = int(dim), factory, normalize
        self.vectors = np.zeros((0, self.dim), dtype=np.float32)  # (N, D)
        self.ids = np.zeros((0,), dtype=np.int64)  # (N,)

    @property
    def ntotal(self) -> int:
        return int(len(self.ids))

    @property
    def is_trained(self) -> bool:
        return True

    def add(self, vectors: Any, ids: Any) -> None:
        """Appends ``vectors (N, D)`` under int64 ``ids (N,)``."""
        x = as_float32_rows(vectors, self.dim)  # (N, D)
        i = np.asarray(ids, dtype=np.int64).reshape(-1)  # (N,)
        if len(i) != len(x):
            raise DataError(f"got {len(x)} vectors but {len(i)} ids")
        self.vectors = np.concatenate([self.vectors, l2_normalize(x) if self.normalize else x])  # (N', D)
        self.ids = np.concatenate([self.ids, i])  # (N',)

    def remove(self, ids: Any) -> bool:
        """Removes the vectors of ``ids (N,)``; always possible here (returns True)."""
        keep = ~np.isin(self.ids, np.asarray(ids, dtype=np.int64).reshape(-1))  # (N,)
        self.vectors, self.ids = self.vectors[keep], self.ids[keep]
        return True

    def empty_like(self) -> ExactIndex:
        """A new, empty index of the same dimension (for a rebuild)."""
        return ExactIndex(self.dim, self.factory, normalize=self.normalize)

    def search(self, queries: Any, k: int, allowed: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(scores (Q, k), ids (Q, k))`` best first; id -1 and score -inf beyond the stored vectors.

        ``allowed`` (``(M,)`` ids, or None for all) restricts the search to those ids.
        """
        q = as_float32_rows(queries, self.dim, "queries")  # (Q, D)
        q = l2_normalize(q) if self.normalize else q
        scores = np.full((len(q), k), -np.inf, np.float32)  # (Q, k)
        ids = np.full((len(q), k), -1, np.int64)  # (Q, k)
        rows = np.arange(self.ntotal) if allowed is None else np.flatnonzero(np.isin(self.ids, np.asarray(allowed)))
        if len(rows) and len(q):
            s, pos = exact_knn(q, self.vectors[rows], k)  # (Q, k'), (Q, k')
            scores[:, : s.shape[1]] = s.numpy()
            ids[:, : s.shape[1]] = self.ids[rows][pos.numpy()]
        return scores, ids

    def reconstruct(self, ids: Any) -> np.ndarray:
        """The stored vectors of ``ids`` -> ``(N, D)``; an unknown id is a ``DataError``."""
        where = {int(i): row for row, i in enumerate(self.ids)}
        rows = []
        for i in np.atleast_1d(np.asarray(ids, dtype=np.int64)):
            if int(i) not in where:
                raise DataError(f"no vector with id {int(i)} in the index")
            rows.append(where[int(i)])
        return self.vectors[rows]  # (N, D)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Writes ids and vectors as an ``.npz`` archive (not atomic: see ``save``)."""
        buf = io.BytesIO()
        np.savez(buf, ids=self.ids, vectors=self.vectors, dim=np.int64(self.dim))
        Path(path).write_bytes(buf.getvalue())

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the index atomically to ``path`` (a temporary file, then ``os.replace``)."""
        with atomic_write(path) as tmp:
            self.write(tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], factory: str = "Flat") -> ExactIndex:
        """Reads an index written by ``save``; a missing or malformed file is a ``DataError``."""
        p = Path(path)
        if not p.is_file():
            raise DataError(f"exact index file {p} does not exist")
        try:
            with np.load(p) as z:
                ids, vectors, dim = z["ids"], z["vectors"], int(z["dim"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(f"{p}: not a readable exact index (.npz with ids, vectors, dim): {exc}") from None
        self = cls(dim, factory if factory == "Flat" else "Flat")
        self.ids, self.vectors = ids.astype(np.int64), as_float32_rows(vectors, dim)
        return self

    def __repr__(self) -> str:
        return f"ExactIndex(dim={self.dim}, ntotal={self.ntotal})"
