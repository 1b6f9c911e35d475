"""``EmbeddingIndex``: a folder that holds searchable embeddings and what they are, and its one door (DESIGN §5).

Layout of an index folder (``index.layout``)::

    manifest.json        format, backend, factory, dim, counts, model, collections, sources, and the generation
    gen-000007/          the current generation (the one the manifest names):
        index.faiss      the vectors (faiss, built from a factory string; ``vectors.npz`` for the exact backend)
        items.sqlite     items (id, domain, uri, label, caption, content hash, source, size, mtime), every
                         embedding once per (domain, content hash), the model that embedded them and one
                         collection per domain (its ``DomainSpec``: input kind, preprocessing, width)
        lease            readers hold a shared lock on it while they use the generation
    thumbs/ab/<hash>.png a small picture of each content (max side 128 px, ``index.thumbnails``)
    building.sqlite      only while a build is unfinished: the embeddings it has finished (``index.journal``)
    semspace-index.lock  the writer lock (``index.locking``)

**The one door.** Nothing outside ``index/`` touches the SQLite store, the vectors or the manifest: this class
offers what its callers need (``domain_counts``, ``items``, ``ids_in_domains``, ``ids_with_hashes``,
``items_of_source``, ``sources``, ``remove_source``, ``stored_vectors``, ``factory``, ...).

**Several domains in one index.** Every item belongs to a collection, the domain it was embedded as
(``add_domain(spec)`` before its items); ``search(q, k, domains=...)`` searches one domain, a list of them, or all
(``None``); the restriction is applied inside faiss (an ``IDSelectorBatch``), so ``k`` results come back whenever
the chosen domains hold that many items.

**One item per path** (``index.upsert``). Adding the same uri again with another content hash replaces its vector
in place (same id). Several paths may share a content hash. ``remove(ids)`` deletes items: in place when the faiss
index can (Flat, IVF, PQ), otherwise (HNSW) the vectors are rebuilt from the stored embeddings at ``save``, which
is also how ``set_factory`` changes the factory without embedding anything again. Ids are never reused.

**Writers and readers.** ``save()`` writes a new ``gen-NNNNNN/`` folder, then replaces ``manifest.json`` (one
rename: the switch), then removes what no generation in use refers to (``clean_up``). It runs under the folder's
writer lock (``EmbeddingIndex.writer(root)``; a build holds it from before ``open`` to after ``save``, so two
builds run one after the other and the second sees the first's items) and refuses to overwrite a generation it
did not start from (``IndexConflictError``: another writer saved in between). Readers (``open``) never lock the
writer out: they lease the generation they read, so a writer's clean-up keeps it (and its thumbnails) until they
let go; ``changed_on_disk()`` tells a long-lived reader (the service) that a newer generation is there.
A kill at any point leaves the previous generation readable; what it leaves behind is removed by a later save.

Indexes written by semspace 0.1.0 and 0.2 (manifest formats 1 and 2: files in the folder itself, ``thumbs/<id>.png``)
open unchanged: the database's numbered migrations record their collections and sync columns, their embeddings are
read back from faiss, and the next ``save`` writes the current layout.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from semspace.data.domains import DomainSpec
from semspace.errors import ConfigError, DataError, IndexConflictError, IndexMismatchError
from semspace.index.faiss_index import HAVE_FAISS, FaissIndex, as_float32_rows
from semspace.index.generations import (
    VectorIndex,
    check_new_folder,
    clean_up_folder,
    new_vectors,
    on_disk_generation,
    open_current,
    write_generation,
)  # fmt: skip
from semspace.index.ivf_ondisk import OnDiskIVF
from semspace.index.layout import FILES, MANIFEST_FORMAT, GenerationLease, manifest_stamp
from semspace.index.locking import WriterLock
from semspace.index.reading import IndexReading
from semspace.index.store import ItemStore, ModelInfo
from semspace.index.thumbnails import Thumbnails
from semspace.index.upsert import check_items, plan_upsert
from semspace.version import __version__

logger = logging.getLogger(__name__)


class EmbeddingIndex(IndexReading):
    """Vectors + item metadata + model record in one folder (see module docstring).

    Use ``EmbeddingIndex.create`` or ``EmbeddingIndex.open`` rather than the constructor.

    Example:
        >>> index = EmbeddingIndex.create("idx", model_info=info, factory="Flat", dim=64)
        >>> index.add(vectors, [{"domain": "render3d", "content_hash": h, "uri": "a.png"} for h in hashes])
        >>> index.save()
        >>> EmbeddingIndex.open("idx").search(queries, k=5)[0][0].uri
    """

    def __init__(self, root: Path, vectors: VectorIndex, store: ItemStore, manifest: dict[str, Any],
                 lease: GenerationLease | None = None, base: str | None = None) -> None:  # fmt: skip
        self.root = root
        self._vectors, self._store, self._manifest, self._lease = vectors, store, manifest, lease
        self._base = base  # the generation this object started from (None: a new index), checked at save
        self._stamp = manifest_stamp(root)
        self._thumbs = Thumbnails(root)
        self._rebuild = False  # the vectors must be rebuilt from the stored embeddings before the next save

    @staticmethod
    def writer(root: str | os.PathLike[str], *, wait: bool = True, on_wait: Callable[[str], None] | None = None,
               what: str = "build", create: bool = False) -> WriterLock:  # fmt: skip
        """The writer lock of ``root`` (a context manager): hold it from before ``open``/``create`` until after
        ``save`` for a read-modify-write that no other writer can interleave (``index.locking``); ``create``: make
        the folder of a first build."""
        return WriterLock(root, wait=wait, on_wait=on_wait, what=what, create=create)

    # ---- construction -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: str | os.PathLike[str],
        *,
        model_info: ModelInfo,
        factory: str = "Flat",
        dim: int,
        nprobe: int = 16,
        backend: str = "auto",
        save: bool = True,
        domains: Iterable[DomainSpec] = (),
    ) -> EmbeddingIndex:
        """Creates an empty index in ``root`` (a missing or empty folder, or one an unfinished first build left)
        and saves it.

        Args:
            root: the index folder.
            model_info: the model whose vectors go in (checked on every later query and add).
            factory: faiss factory string (``"Flat"``: exact; ``"IVF256,Flat"``, ``"HNSW32"``: approximate).
            dim: vector dimension.
            nprobe: inverted lists visited per query by IVF indexes.
            backend: ``"faiss"``, ``"exact"`` (torch brute force, no faiss needed) or ``"auto"``.
            save: write the empty index now (False: only on the first ``save()``, so a build that fails
                before then leaves no index behind).
            domains: collections to record now (more can be added with ``add_domain``).

        Raises:
            DataError: ``root`` already holds an index, or files that are not an unfinished build's (a damaged
                index without its manifest, or anything else): nothing is overwritten.
            ConfigError: bad factory string or backend, or ``dim`` differs from ``model_info.embed_dim``.
        """
        path = Path(root)
        check_new_folder(path)
        if int(dim) != int(model_info.embed_dim):
            raise ConfigError(f"index dim {dim} differs from the model's embedding dimension {model_info.embed_dim}")
        if backend == "auto":
            backend = "faiss" if HAVE_FAISS else "exact"
        if backend not in FILES:
            raise ConfigError(f"index backend must be 'faiss', 'exact' or 'auto', got {backend!r}")
        vectors = new_vectors(path, backend, dim, factory, nprobe)
        store = ItemStore.open(None, staging=path)  # a staging file when the folder exists (a build's)
        store.set_model(model_info)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        manifest = {
            "format": MANIFEST_FORMAT, "backend": backend, "factory": factory, "dim": int(dim), "metric": "ip",
            "nprobe": int(nprobe), "created": now, "sources": [],
        }  # fmt: skip
        index = cls(path, vectors, store, manifest)
        for spec in domains:
            index.add_domain(spec)
        if save:
            index.save()
        return index

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> EmbeddingIndex:
        """Opens the current generation of an index folder and leases it (module docstring: readers).

        Raises:
            DataError: the folder or one of its files is missing or unreadable, or the files disagree
                (the message names the path and says how to build an index).
        """
        path = Path(root)
        g = open_current(path)
        return cls(path, g.vectors, g.store, g.manifest, lease=g.lease, base=g.name)

    def close(self) -> None:
        """Lets go of the generation this index read (its lease); the object stays usable in memory."""
        if self._lease is not None:
            self._lease.release()

    def discard(self) -> None:
        """Drops the unsaved changes (the writer's staging copy of the store is deleted) and the lease; the object
        must not be used afterwards. A failed build calls it, so it leaves nothing behind."""
        _discard_vectors(self._vectors)
        self._store.close()
        self.close()

    @property
    def generation(self) -> str:
        """The generation this object was read from or last saved (``""``: the flat layout or not saved yet)."""
        return self._base or ""

    def changed_on_disk(self) -> bool:
        """Whether the folder's manifest changed since this object read or wrote it (one ``stat``): another
        writer saved a newer generation (or removed the index)."""
        return manifest_stamp(self.root) != self._stamp

    def add_domain(self, spec: DomainSpec) -> None:
        """Records the collection of ``spec.name`` (before its items are added); an existing collection of that
        name must have the same record (``IndexMismatchError`` otherwise)."""
        if int(spec.embed_dim) != self.dim:
            raise IndexMismatchError(
                f"domain {spec.name!r} has width {spec.embed_dim}; index {self.root} holds {self.dim}-d vectors"
            )
        stored = self.domains().get(spec.name)
        if stored is not None:
            diff = stored.differences(spec)
            if diff:
                raise IndexMismatchError(
                    f"index {self.root} already holds domain {spec.name!r} embedded with {stored.to_dict()}, not "
                    f"{spec.to_dict()} (they differ in {', '.join(diff)}); use another index folder"
                )
            return
        self._store.set_domain(spec.to_dict())

    # ---- items -------------------------------------------------------------------------------------
    @property
    def factory(self) -> str:
        """The faiss factory string of the vectors (``"Flat"`` for the exact backend)."""
        return str(self._manifest.get("factory", "Flat"))

    @property
    def needs_training(self) -> bool:
        """Whether the vector index must see vectors before it can hold them (IVF, PQ before the first add)."""
        return not self._vectors.is_trained

    def add(self, vectors: Any, items: list[dict[str, Any]]) -> list[int]:
        """Adds or updates items with their ``vectors (N, D)`` float32; returns their ids (-1: unchanged, skipped).

        Each item has ``domain`` (a collection recorded with ``add_domain``) and ``content_hash`` (required),
        ``uri``, ``label``, ``caption``, ``source``, ``size``, ``mtime_ns`` and an optional ``thumbnail`` (a
        ``PIL.Image``, shrunk to at most 128 px a side, or PNG bytes from ``thumbnail_png``). An item whose uri
        is stored in its domain is updated in place (same id) when its content hash differs and skipped when it
        is the same; an item without a uri is skipped when its (domain, content hash) is stored; repeats within
        ``items`` are skipped (``index.upsert``). Changes are in memory until ``save()``, but thumbnails are written
        at once (under their content hash, so they never overwrite another content's).

        Raises:
            DataError: shapes disagree, an item lacks ``domain`` / ``content_hash``, or its domain has no collection.
            ConfigError: the index needs training and got too few vectors (IVF, PQ factories).
        """
        x = as_float32_rows(vectors, self.dim)  # (N, D)
        if len(x) != len(items):
            raise DataError(f"got {len(x)} vectors but {len(items)} items")
        check_items(items, set(self._store.get_domains()), str(self.root))
        plan = plan_upsert(self._store, items)
        if plan.changed:
            self._drop_vectors([int(r["id"]) for _, r in plan.changed])
            self._store.update_items([r for _, r in plan.changed])
        rows = plan.rows
        if not rows:
            return plan.ids
        self._store.add_items([r for _, r in plan.new])
        for dom in {str(r["domain"]) for _, r in rows}:
            in_dom = [(i, r) for i, r in rows if r["domain"] == dom]
            self._store.put_vectors(dom, [str(r["content_hash"]) for _, r in in_dom], x[[i for i, _ in in_dom]])
        if not self._rebuild:
            self._vectors.add(x[[i for i, _ in rows]], np.array([r["id"] for _, r in rows], dtype=np.int64))  # (n, D)
        for i, row in rows:
            thumb = items[i].get("thumbnail")
            if thumb is not None:
                self._thumbs.write(str(row["content_hash"]), thumb)
        return plan.ids

    def touch(self, rows: list[dict[str, Any]]) -> None:
        """Sets stored fields of existing items without changing their content (``id`` and e.g. ``source``,
        ``size``, ``mtime_ns``: a sync that found a file's bytes unchanged under a new modification time)."""
        if rows:
            self._store.update_items(rows)

    def set_fields(self, fields_by_uri: dict[str, dict[str, Any]], domain: str | None = None) -> tuple[int, int]:
        """Attaches fields (``{uri: {name: value}}``, e.g. from a sidecar file: ``retrieval/sidecar.py``) to the
        items with those uris (of ``domain`` when given), replacing their fields; in memory until ``save()``.
        Returns ``(items whose fields changed, uris that named an item)``; the other uris are ignored."""
        by_id: dict[int, dict[str, Any]] = {}
        found: set[str] = set()
        for dom in [domain] if domain else list(self._store.get_domains()):
            for uri, item in self._store.items_by_uri(dom, list(fields_by_uri)).items():
                by_id[int(item["id"])] = dict(fields_by_uri[uri])
                found.add(uri)
        return (self._store.set_fields(by_id) if by_id else 0), len(found)

    def remove(self, ids: Iterable[int]) -> int:
        """Removes the items of ``ids`` (unknown ids are ignored); returns how many were removed. In memory until
        ``save()``; the vectors go in place when the faiss index can remove, else they are rebuilt at ``save``."""
        wanted = sorted({int(i) for i in ids} & set(self._store.get_many(ids)))
        if not wanted:
            return 0
        self._drop_vectors(wanted)
        return self._store.remove_items(wanted)

    def remove_source(self, source: str) -> int:
        """Removes every item synced from ``source`` (a normalised data spec) and forgets the source; returns how
        many items went.

        Raises:
            ConfigError: the index holds no item of ``source`` (the message lists its sources).
        """
        chosen = [int(it["id"]) for it in self._store.items_of_source(source)]
        if not chosen and source not in self._manifest.get("sources", []):
            raise ConfigError(f"index {self.root} holds no items of source {source!r}; its sources: "
                              f"{self.source_names() or 'none'}")  # fmt: skip
        removed = self.remove(chosen)
        self._manifest["sources"] = [s for s in self._manifest.get("sources", []) if s != source]
        return removed

    def _drop_vectors(self, ids: list[int]) -> None:
        if not self._rebuild and not self._vectors.remove(np.asarray(ids, dtype=np.int64)):
            self._rebuild = True  # HNSW cannot remove: rebuilt from the stored embeddings before the next save

    def set_factory(self, factory: str, *, nprobe: int | None = None, reason: str = "", train_vectors: int = 0
                    ) -> None:  # fmt: skip
        """Changes the faiss factory string (and ``nprobe``): the vectors are rebuilt from the stored embeddings at
        ``save`` (nothing is embedded again). ``reason``: why it was chosen (``--factory auto``), kept in the manifest
        with ``train_vectors`` (the sample an untrained index of it trains on) and shown by ``info``.

        Raises:
            ConfigError: not a valid factory string, or the exact backend (which searches exhaustively).
        """
        if self._manifest.get("backend") != "faiss":
            raise ConfigError(f"index {self.root} uses the exact backend, which has no factory (it is exhaustive)")
        FaissIndex(self.dim, factory)  # validates the string now, not at save
        if factory != self.factory or (nprobe is not None and nprobe != self._manifest.get("nprobe")):
            self._rebuild = True
        self._manifest["factory"] = factory
        if nprobe is not None:
            self._manifest["nprobe"] = int(nprobe)
        self._manifest["factory_choice"] = {"factory": factory, "reason": reason, "train_vectors": int(train_vectors)}
        if self._rebuild and len(self) == 0:
            self._rebuild_vectors()  # an empty index: the new vectors take the adds that follow directly

    @property
    def train_vectors(self) -> int:
        """Vectors an untrained index of this factory should train on (``--factory auto``'s choice; 0: unknown)."""
        return int(self._manifest.get("factory_choice", {}).get("train_vectors", 0))

    def _rebuild_vectors(self) -> None:
        """A new vector index of the current factory holding every item's stored embedding."""
        backend = str(self._manifest.get("backend", "faiss"))
        fresh = new_vectors(self.root, backend, self.dim, self.factory, int(self._manifest.get("nprobe", 16)))
        _discard_vectors(self._vectors)
        block = max(32768, self.train_vectors)  # (n,), (n, D) blocks: the first one trains IVF / PQ
        for ids, vecs in self._store.iter_item_vectors(block):
            fresh.add(vecs, ids)
        self._vectors, self._rebuild = fresh, False

    # ---- persistence -------------------------------------------------------------------------------
    def add_source(self, source: str) -> None:
        """Notes a data source in the manifest (kept once); items synced from a source also record it themselves."""
        if source not in self._manifest.setdefault("sources", []):
            self._manifest["sources"].append(source)

    def save(self) -> None:
        """Writes a new generation (vectors, then items) and switches to it by replacing the manifest (one rename);
        then removes what no generation in use refers to (``clean_up``). Runs under the writer lock (waiting for
        another writer, re-entrant inside ``writer(root)``).

        Raises:
            IndexConflictError: another writer saved since this object was opened (its change would be lost).
        """
        with WriterLock(self.root, what="save", on_wait=logger.warning, create=True):
            on_disk = on_disk_generation(self.root)
            if on_disk != self._base:
                raise IndexConflictError(
                    f"index {self.root} was saved by another writer since this one opened it (it held "
                    f"{self._base or 'no generation'}, now {on_disk or 'none'}); open it again and redo the change, "
                    "holding EmbeddingIndex.writer(root) from open to save"
                )
            self._write_generation()
            self.clean_up()

    def _write_generation(self) -> None:
        if self._rebuild:
            self._rebuild_vectors()
        self._store.prune_vectors()
        manifest = {
            **self._manifest, "format": MANIFEST_FORMAT, "ntotal": self._vectors.ntotal,
            "domains": self._store.domain_counts(), "collections": self._store.get_domains(),
            "model": self.model_info.to_dict(), "sources": self.source_names(), "semspace_version": __version__,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }  # fmt: skip
        g = write_generation(self.root, self._vectors, self._store, manifest)
        previous, self._lease = self._lease, g.lease
        if previous is not None:
            previous.release()
        self._manifest, self._base, self._stamp = g.manifest, g.name, manifest_stamp(self.root)

    def clean_up(self, keep_hashes: Iterable[str] = ()) -> dict[str, int]:
        """Deletes what no generation in use needs: generations other than the current one that no process reads
        (a killed save's, or older ones), the files of the pre-generation layout, a dead writer's temporary files,
        and thumbnails of contents that neither the current generation, a generation still read, nor ``keep_hashes``
        (an unfinished build's) refers to (``index.generations``). Runs under the writer lock. Returns how many of
        each were removed."""
        current = self._manifest.get("generation")
        if not current or not self.root.is_dir():
            return {"generations": 0, "files": 0, "thumbnails": 0}
        with WriterLock(self.root, what="clean-up", on_wait=logger.warning):
            return clean_up_folder(self.root, str(current), self._store, keep_hashes)

    def __repr__(self) -> str:
        return f"EmbeddingIndex(root={str(self.root)!r}, items={len(self)}, factory={self.factory!r})"


def _discard_vectors(vectors: VectorIndex) -> None:
    """Deletes the vector shards a writer wrote and did not save (``OnDiskIVF``; other indexes have none)."""
    if isinstance(vectors, OnDiskIVF):
        vectors.discard()
