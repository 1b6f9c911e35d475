"""The read side of ``EmbeddingIndex``: what an index holds, its model and collections, search and info.

Everything here reads the generation in memory (and the thumbnails on disk); nothing changes the folder. The
writing face (``EmbeddingIndex``: add, remove, save, clean-up) builds on it; callers outside ``index/`` use only
these methods, never the store, the vectors or the manifest behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semspace.data.domains import DomainSpec
from semspace.errors import ConfigError, DataError, IndexMismatchError
from semspace.index.faiss_index import as_float32_rows
from semspace.index.fields import Condition, fields_of, ids_matching, parse_filter
from semspace.index.generations import VectorIndex
from semspace.index.journal import BuildJournal
from semspace.index.layout import BUILD_HINT
from semspace.index.store import ItemStore, ModelInfo
from semspace.index.thumbnails import Thumbnails
from semspace.types import SearchHit


class IndexReading:
    """The read-only operations of an index (the attributes are set by ``EmbeddingIndex``)."""

    root: Path
    _vectors: VectorIndex
    _store: ItemStore
    _manifest: dict[str, Any]
    _thumbs: Thumbnails

    def __len__(self) -> int:
        return self._store.count()

    @property
    def dim(self) -> int:
        return int(self._vectors.dim)

    # ---- model -----------------------------------------------------------------------------------
    @property
    def model_info(self) -> ModelInfo:
        info = self._store.get_model()
        assert info is not None  # guaranteed by create/open
        return info

    def check_model(self, model_info: ModelInfo, domains: dict[str, DomainSpec] | None = None) -> None:
        """Raises ``IndexMismatchError`` unless ``model_info`` is the model that built this index.

        The checkpoint's sha256, the task and the embedding dimension must match (the checkpoint's path may
        differ: a moved run folder); with ``domains`` (the query task's records), every collection of the index
        must be a domain of the task with the same kind and preprocessing.
        """
        built = self.model_info
        rebuild = f"Search with the run that built the index, or rebuild it: {BUILD_HINT.format(root=self.root)}"
        if built.fingerprint() != model_info.fingerprint():
            names = ("weights (sha256)", "task", "embedding dim")
            pairs = zip(names, built.fingerprint(), model_info.fingerprint(), strict=True)
            what = [name for name, a, b in pairs if a != b]
            raise IndexMismatchError(
                f"index {self.root} was built with checkpoint {built.checkpoint} (task {built.task}, sha256 "
                f"{built.checkpoint_sha256[:12]}) but the query model is {model_info.checkpoint} (task "
                f"{model_info.task}, sha256 {model_info.checkpoint_sha256[:12]}); they differ in {', '.join(what)}. "
                + rebuild
            )
        if domains is None:
            return
        for name, stored in self.domains().items():
            if name not in domains:
                raise IndexMismatchError(f"index {self.root} holds domain {name!r}, which the query model lacks "
                                         f"(it embeds {list(domains)}). {rebuild}")  # fmt: skip
            diff = stored.differences(domains[name])
            if diff:
                raise IndexMismatchError(
                    f"index {self.root}: domain {name!r} was embedded with {stored.to_dict()} but the query model's "
                    f"record is {domains[name].to_dict()} (they differ in {', '.join(diff)}). {rebuild}"
                )

    # ---- collections ---------------------------------------------------------------------------------
    def domains(self) -> dict[str, DomainSpec]:
        """``{domain: DomainSpec}`` of every collection, by name."""
        out = {}
        for name, record in self._store.get_domains().items():
            try:
                out[name] = DomainSpec.from_dict(record, f"{self.root / 'items.sqlite'}: domain {name!r}")
            except ConfigError as exc:
                raise DataError(str(exc)) from None
        return out

    # ---- reading items ---------------------------------------------------------------------------------
    def has(self, domain: str, content_hash: str) -> bool:
        """Whether an item with this content is already stored for ``domain``."""
        return self._store.has_hash(domain, content_hash)

    def get_item(self, item_id: int) -> dict[str, Any] | None:
        """The item dict of ``item_id`` (``id, domain, uri, label, caption, content_hash, source, size,
        mtime_ns``), or None."""
        return self._store.get(item_id)

    def items(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{id: item}`` for the ids that exist (one query per 500 ids)."""
        return self._store.get_many(ids)

    def iter_items(self, domain: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item (of ``domain`` when given), by id, read as it goes."""
        for item in self._store.iter_items():
            if domain is None or item["domain"] == domain:
                yield item

    def domain_counts(self) -> dict[str, int]:
        """``{domain: number of items}``, largest first (ties by name); collections without items are left out."""
        return self._store.domain_counts()

    def domain_names(self) -> list[str]:
        """The collections' names, sorted (with or without items)."""
        return list(self._store.get_domains())

    def ids_in_domains(self, domains: Iterable[str]) -> list[int]:
        """The ids of the items of ``domains``, ascending."""
        return self._store.ids_in_domains(domains)

    def ids_with_hashes(self, hashes: Iterable[str], domains: Iterable[str]) -> list[int]:
        """The ids of the items of ``domains`` whose content hash is one of ``hashes``, ascending."""
        return self._store.ids_with_hashes(hashes, domains)

    def items_by_uri(self, domain: str, source: str, uris: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{uri: item}`` of ``domain``'s items of ``source`` and those added without a source (which a sync of
        ``source`` adopts); all of them, or those of ``uris`` (a sync asks chunk by chunk)."""
        return self._store.items_by_uri(domain, uris, source=source)

    def items_of_source(self, source: str, domain: str | None = None) -> list[dict[str, Any]]:
        """The items synced from ``source`` (into ``domain`` when given), by id."""
        return self._store.items_of_source(source, domain)

    def ids_of_source(self, source: str, domain: str) -> np.ndarray:
        """``(N,)`` int64: the ids of the items synced from ``source`` into ``domain``, ascending (no item records
        are made: a sync of 10^6 items compares ids)."""
        return self._store.ids_of_source(source, domain)

    def sources(self) -> list[dict[str, Any]]:
        """``[{source, domain, items}]``: the synced sources (``''``: items added without one), by source."""
        return self._store.sources()

    def source_names(self) -> list[str]:
        """The sources the index was synced from, sorted."""
        return sorted(
            {s["source"] for s in self._store.sources() if s["source"]} | set(self._manifest.get("sources", []))
        )

    def stored_vectors(self, domain: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """``{hash: (D,) float32}``: the stored embeddings of ``domain``'s contents among ``hashes``."""
        return self._store.get_vectors(domain, hashes)

    def reconstruct(self, item_id: int) -> np.ndarray:
        """The stored vector ``(D,)`` of an item; an unknown id is a ``DataError``."""
        if self._store.get(item_id) is None:
            raise DataError(f"index {self.root} has no item with id {item_id} (ids run from 0 to {len(self) - 1})")
        vec: np.ndarray = self._vectors.reconstruct([item_id])[0]  # (D,)
        return vec

    def ids_matching(self, where: Iterable[str | Condition], domains: str | list[str] | None = None) -> np.ndarray:
        """The ids of the items that meet every condition of the filter ``where`` (``index.fields``), within
        ``domains`` when given: ``(M,)`` int64, sorted."""
        doms = [domains] if isinstance(domains, str) else (list(domains) if domains else None)
        return ids_matching(self._store.conn, parse_filter(where), doms)

    def fields(self, item_id: int) -> dict[str, str | float]:
        """The fields a sidecar attached to an item (``index.fields``; empty when none)."""
        return fields_of(self._store.conn, item_id)

    def has_thumbnail(self, content_hash: str) -> bool:
        """Whether the folder holds the thumbnail of a content (one ``stat``; a sync skips making it again)."""
        return self._thumbs.path_of(content_hash).is_file()

    def thumbnail_path(self, item_id: int) -> Path | None:
        """Where the item's thumbnail is (under its content hash; ``thumbs/<id>.png`` in older indexes), or None."""
        item = self._store.get(item_id)
        return None if item is None else self._thumbs.find(item_id, str(item["content_hash"]))

    def thumbnail(self, item_id: int) -> Image.Image | None:
        """The item's thumbnail as an RGB image, or None when it has none."""
        p = self.thumbnail_path(item_id)
        if p is None:
            return None
        try:
            with Image.open(p) as img:
                return img.convert("RGB")
        except FileNotFoundError:  # cleaned up since (the item is gone from a newer generation)
            return None

    # ---- search ------------------------------------------------------------------------------------
    def search(self, queries: Any, k: int = 10, domains: str | list[str] | None = None,
               where: Iterable[str | Condition] | None = None) -> list[list[SearchHit]]:  # fmt: skip
        """The ``k`` most similar items of each query ``(Q, D)`` (cosine similarity, best first).

        Args:
            queries: ``(Q, D)`` vectors.
            k: results per query.
            domains: search only these collections (a name or a list); None or empty: all of them.
            where: a filter (``index.fields``: ``"year>=2000"``, ``"source=NAME"``, ``"path=*/cats/*"``, ...):
                only the items meeting every condition, selected inside the faiss search.

        Raises:
            ConfigError: a named domain has no collection in this index (the message lists them), or a condition
                that does not parse.
        """
        q = as_float32_rows(queries, self.dim, "queries")  # (Q, D)
        allowed, some = None, None  # the ids a search may return (None: all); the domains they are limited to
        if domains:
            wanted = [domains] if isinstance(domains, str) else list(domains)
            have = self._store.get_domains()
            missing = [d for d in wanted if d not in have]
            if missing:
                raise ConfigError(f"index {self.root} holds no domain {missing}; it holds {sorted(have)}")
            some = wanted if set(wanted) != set(have) else None
        conditions = parse_filter(where)
        if conditions:
            allowed = self.ids_matching(conditions, some)  # (M,)
        elif some:
            allowed = np.asarray(self._store.ids_in_domains(some), dtype=np.int64)  # (M,)
        scores, ids = self._vectors.search(q, k, allowed)  # (Q, k), (Q, k)
        meta = self._store.hit_fields(set(ids[ids >= 0].tolist()))
        out: list[list[SearchHit]] = []
        for row_scores, row_ids in zip(scores.tolist(), ids.tolist(), strict=True):
            hits = []
            for s, i in zip(row_scores, row_ids, strict=True):
                it = meta.get(i)
                if it is not None:
                    hits.append(SearchHit(id=i, score=s, domain=it[0], uri=it[1], label=it[2], caption=it[3]))
            out.append(hits)
        return out

    def info(self) -> dict[str, Any]:
        """A JSON-able summary: the manifest plus the live counts, the synced sources and the size on disk."""
        size = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else 0
        return {
            **self._manifest,
            "ntotal": self._vectors.ntotal,
            "domains": self._store.domain_counts(),
            "collections": self._store.get_domains(),
            "source_items": self._store.sources(),
            "unfinished_build": BuildJournal.exists(self.root),
            "bytes_on_disk": size,
            "root": str(self.root),
        }
