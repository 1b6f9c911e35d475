"""A FAISS vector index described by a factory string (DESIGN §5, STYLE F.20).

``FaissIndex(dim, factory="Flat")`` builds ``faiss.index_factory(dim, factory, METRIC_INNER_PRODUCT)``:
vectors are L2-normalised on the way in, so the inner product is the cosine similarity. Every vector
carries an int64 id chosen by the caller (the SQLite row id of its item): IVF indexes take ids natively
(with a hash-table direct map, so ``reconstruct(id)`` works); every other index (``Flat``, ``HNSW32``,
``PQ16``, ...) is wrapped in ``IndexIDMap2``. Indexes that need training (IVF, PQ) are trained on the
first batch that is added; too few vectors for the factory is a ``ConfigError`` that says how many are
needed. Saves are atomic (``<name>.tmp.<pid>`` then ``os.replace``).

**Memory-mapped for reading** (issue 19). ``load(path, mapped=True)`` maps the vectors (flat codes, IVF lists) from
the file instead of reading them into memory (faiss ``IO_FLAG_MMAP_IFC``): a service that searches a 10^6-vector
generation holds only the pages a search touches, shared with every other process reading that file and given back
to the page cache under memory pressure. A mapped index is read-only; the first ``add``, ``remove`` or ``train``
reads the file into memory first (a writer pays for what it changes, readers never do).

The shape follows PML's ``utils/inference.py::FaissKNN`` and faiss's ``contrib/factory_tools.py``;
``index.exact.ExactIndex`` offers the same methods without faiss.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from semspace.errors import ConfigError, DataError
from semspace.utils.io import atomic_write

logger = logging.getLogger(__name__)

HNSW_EF_SEARCH = 128  # HNSW candidates kept per query: recall@10 0.97 at 10^4 x 512-d (index_scale.md)

try:  # faiss-cpu is a dependency, but the exact backend keeps working without it
    import faiss

    HAVE_FAISS = True
except ImportError:  # pragma: no cover - exercised only where faiss is missing
    faiss = None  # type: ignore[assignment]
    HAVE_FAISS = False


def as_float32_rows(x: Any, dim: int, name: str = "vectors") -> np.ndarray:
    """``x`` as a C-contiguous float32 ``(N, dim)`` array; another shape is a ``DataError``."""
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float32))  # (N, D)
    if a.ndim == 1 and a.shape[0] == dim:
        a = a[None, :]  # (1, D)
    if a.ndim != 2 or a.shape[1] != dim:
        raise DataError(f"{name} must have shape (N, {dim}), got {a.shape}")
    if not np.isfinite(a).all():
        raise DataError(f"{name} contain NaN or infinite values")
    return a


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (N, 1)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)  # (N, D)


class FaissIndex:
    """Inner-product FAISS index with caller-chosen int64 ids.

    Args:
        dim: vector dimension D.
        factory: a faiss factory string (``"Flat"``, ``"IVF256,Flat"``, ``"HNSW32"``, ``"IVF64,PQ8"``).
        nprobe: inverted lists visited per query by IVF indexes (ignored by others).
        normalize: L2-normalise vectors on add and search (cosine similarity).

    Raises:
        ConfigError: faiss is not installed, or the factory string is not understood.

    Example:
        >>> index = FaissIndex(64, "IVF16,Flat")
        >>> index.add(vectors, ids)  # trains first: IVF16 needs at least 16 vectors
        >>> scores, found = index.search(queries, k=10)  # (Q, 10) each; id -1 where fewer were found
    """

    def __init__(self, dim: int, factory: str = "Flat", *, nprobe: int = 16, normalize: bool = True) -> None:
        if not HAVE_FAISS:
            raise ConfigError("faiss is not installed (pip install faiss-cpu); use the 'exact' backend instead")
        if dim <= 0:
            raise ConfigError(f"index dimension must be positive, got {dim}")
        self.dim, self.factory, self.nprobe, self.normalize = int(dim), factory, int(nprobe), normalize
        try:
            index = faiss.index_factory(self.dim, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise ConfigError(
                f"faiss factory string {factory!r} is not valid for dim {dim} ({_first_line(exc)}); "
                "examples: 'Flat', 'IVF256,Flat', 'HNSW32', 'IVF64,PQ8'"
            ) from None
        self.index = _with_ids(index)
        self.mapped_from: Path | None = None

    @classmethod
    def from_faiss(cls, index: Any, factory: str, *, nprobe: int = 16, normalize: bool = True,
                   mapped_from: Path | None = None) -> FaissIndex:  # fmt: skip
        """Wraps an existing faiss index (as read from disk; ``mapped_from``: the file it maps, read-only)."""
        self = cls.__new__(cls)
        self.dim, self.factory, self.nprobe, self.normalize = int(index.d), factory, int(nprobe), normalize
        self.index, self.mapped_from = index, mapped_from
        return self

    @property
    def mapped(self) -> bool:
        """Whether the vectors are mapped from a file (read-only until the first change reads them in)."""
        return self.mapped_from is not None

    def _own(self) -> None:
        """Before a change: a mapped index is read into memory from its file (module docstring)."""
        if self.mapped_from is not None:
            self.index, self.mapped_from = faiss.read_index(str(self.mapped_from)), None

    @property
    def ntotal(self) -> int:
        """Number of vectors in the index."""
        return int(self.index.ntotal)

    @property
    def is_trained(self) -> bool:
        return bool(self.index.is_trained)

    def train(self, vectors: Any) -> None:
        """Trains the index (IVF centroids, PQ codebooks) on ``vectors (N, D)``.

        Raises:
            ConfigError: too few vectors for this factory string (the message says how many are needed).
        """
        x = self._prep(vectors)  # (N, D)
        self._own()
        try:
            self.index.train(x)
        except RuntimeError as exc:
            raise ConfigError(
                f"faiss index {self.factory!r} could not be trained on {len(x)} vectors ({_first_line(exc)}); "
                f"{self._training_hint()}, or use --factory Flat"
            ) from None

    def add(self, vectors: Any, ids: Any) -> None:
        """Adds ``vectors (N, D)`` under int64 ``ids (N,)``; trains first when the index needs it."""
        x = self._prep(vectors)  # (N, D)
        i = np.ascontiguousarray(np.asarray(ids, dtype=np.int64)).reshape(-1)  # (N,)
        if len(i) != len(x):
            raise DataError(f"got {len(x)} vectors but {len(i)} ids")
        if len(x) == 0:
            return
        self._own()
        if not self.is_trained:
            self.train(x)
        self.index.add_with_ids(x, i)

    def search(self, queries: Any, k: int, allowed: Any | None = None, excluded: Any | None = None
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The ``k`` nearest vectors of each query by inner product.

        Args:
            queries: ``(Q, D)``.
            k: results per query.
            allowed: only these ids may be returned (``(M,)`` int64; a faiss ``IDSelectorBatch``, which Flat, IVF
                and HNSW indexes apply during the search); None: every id.
            excluded: these ids are never returned (``(M,)`` int64, applied the same way); None or empty: none.

        Returns:
            ``(scores (Q, k) float32, ids (Q, k) int64)`` best first; slots beyond the vectors found hold
            id -1 and score -inf.
        """
        q = self._prep(queries, "queries")  # (Q, D)
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        if self.ntotal == 0:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is not None:
            ivf.nprobe = min(self.nprobe, int(ivf.nlist))
        hnsw = _hnsw(self.index)
        if hnsw is not None:  # faiss's default efSearch of 16 finds 0.76 of the true top 10 (index_scale.md)
            hnsw.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
        drop = None if excluded is None else np.ascontiguousarray(np.asarray(excluded, np.int64)).reshape(-1)  # (M,)
        if allowed is None and (drop is None or len(drop) == 0):
            scores, ids = self.index.search(q, k)  # (Q, k), (Q, k)
        else:
            selector: Any = None
            if allowed is not None:
                keep = np.ascontiguousarray(np.asarray(allowed, dtype=np.int64)).reshape(-1)  # (M,)
                if len(keep) == 0:
                    return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
                selector = faiss.IDSelectorBatch(keep)
            if drop is not None and len(drop):  # faiss keeps raw pointers: every selector stays named until the end
                dropped = faiss.IDSelectorBatch(drop)
                not_dropped = faiss.IDSelectorNot(dropped)
                allowed_sel, selector = selector, not_dropped
                if allowed_sel is not None:
                    selector = faiss.IDSelectorAnd(allowed_sel, not_dropped)
            params: Any
            if ivf is not None:
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(self.nprobe, int(ivf.nlist)))  # type: ignore[call-arg]
            elif hnsw is not None:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))  # type: ignore[attr-defined]
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self.index.search(q, k, params=params)  # (Q, k), (Q, k)
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)  # (Q, k)
        return scores, ids.astype(np.int64)

    def remove(self, ids: Any) -> bool:
        """Removes the vectors of ``ids (N,)`` in place when the index type can (``IndexIDMap2`` over a flat or PQ
        index, IVF with its hash-table direct map); returns False, removing nothing, when it cannot (HNSW): the
        caller rebuilds from its stored vectors (``EmbeddingIndex`` does)."""
        i = np.ascontiguousarray(np.asarray(ids, dtype=np.int64)).reshape(-1)  # (N,)
        if len(i) == 0:
            return True
        self._own()
        try:  # IVF's hash-table direct map removes only through an IDSelectorArray (it must look each id up)
            self.index.remove_ids(faiss.IDSelectorArray(i))
        except RuntimeError as exc:
            logger.debug("faiss %s cannot remove ids in place (%s); rebuilding", self.factory, _first_line(exc))
            return False
        return True

    def empty_like(self) -> FaissIndex:
        """A new, empty index of the same factory, dimension and settings (for a rebuild)."""
        return FaissIndex(self.dim, self.factory, nprobe=self.nprobe, normalize=self.normalize)

    def reconstruct(self, ids: Any) -> np.ndarray:
        """The stored (normalised; approximate for PQ) vectors of ``ids`` -> ``(N, D)`` float32.

        Raises:
            DataError: an id is not in the index.
        """
        out = np.empty((len(np.atleast_1d(ids)), self.dim), dtype=np.float32)  # (N, D)
        for row, i in enumerate(np.atleast_1d(np.asarray(ids, dtype=np.int64))):
            try:
                out[row] = self.index.reconstruct(int(i))
            except RuntimeError:
                raise DataError(
                    f"no vector with id {int(i)} in the index (or {self.factory!r} cannot return it)"
                ) from None
        return out

    def write(self, path: str | os.PathLike[str]) -> None:
        """Writes the index to ``path`` in faiss's own format (not atomic: see ``save``)."""
        faiss.write_index(self.index, os.fspath(path))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the index atomically to ``path`` (a temporary file, then ``os.replace``)."""
        with atomic_write(path) as tmp:
            self.write(tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], factory: str = "", *, nprobe: int = 16, mapped: bool = False
             ) -> FaissIndex:  # fmt: skip
        """Reads an index written by ``save`` (``mapped``: maps its vectors, read-only until changed: module docstring).

        Raises:
            DataError: the file is missing or is not a faiss index.
        """
        p = Path(path)
        if not HAVE_FAISS:
            raise ConfigError(f"{p} is a faiss index but faiss is not installed (pip install faiss-cpu)")
        if not p.is_file():
            raise DataError(f"faiss index file {p} does not exist")
        try:
            index = faiss.read_index(str(p), faiss.IO_FLAG_MMAP_IFC if mapped else 0)
        except RuntimeError as exc:
            raise DataError(f"{p}: not a readable faiss index ({_first_line(exc)})") from None
        return cls.from_faiss(index, factory or type(index).__name__, nprobe=nprobe, mapped_from=p if mapped else None)

    def _prep(self, x: Any, name: str = "vectors") -> np.ndarray:
        a = as_float32_rows(x, self.dim, name)  # (N, D)
        return l2_normalize(a) if self.normalize else a

    def _training_hint(self) -> str:
        ivf = faiss.try_extract_index_ivf(self.index)
        if ivf is not None:
            nlist = int(ivf.nlist)
            return f"it has {nlist} inverted lists and needs at least {nlist} vectors ({39 * nlist} are better)"
        return "product quantizers need at least 256 vectors (2^nbits)"

    def __repr__(self) -> str:
        return f"FaissIndex(dim={self.dim}, factory={self.factory!r}, ntotal={self.ntotal})"


def _hnsw(index: Any) -> Any | None:
    """The HNSW index inside ``index`` (wrapped in an id map), or None."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2) else index
    return inner if hasattr(inner, "hnsw") else None


def _with_ids(index: Any) -> Any:
    """IVF indexes keep their own ids (plus a hash-table direct map for reconstruct); others get IndexIDMap2."""
    if isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2):
        return index
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        return index
    return faiss.IndexIDMap2(index)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[-1] if text else type(exc).__name__
    return msg.split("Error: ", 1)[-1][:200]
