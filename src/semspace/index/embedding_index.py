"""``EmbeddingIndex``: a folder that holds searchable embeddings and what they are (DESIGN §5, STYLE F.20).

Layout of an index folder::

    manifest.json        format, backend, factory, dim, counts, model, collections, sources, and the generation
    gen-000007/          the current generation (the one the manifest names):
        index.faiss      the vectors (faiss, built from a factory string; ``vectors.npz`` for the exact backend)
        items.sqlite     items (id, domain, uri, label, caption, content hash, source, size, mtime), every
                         embedding once per (domain, content hash), the model that embedded them and one
                         collection per domain (its ``DomainSpec``: input kind, preprocessing, width)
    thumbs/ab/<hash>.png a small picture of each content (max side 128 px), so results show without the original
    building.sqlite      only while a build is unfinished: the embeddings it has finished (``index.journal``)

**Several domains in one index.** Every item belongs to a collection, the domain it was embedded as
(``add_domain(spec)`` before its items); ``search(q, k, domains=...)`` searches one domain, a list of them, or all
(``None``); the restriction is applied inside faiss (an ``IDSelectorBatch``), so ``k`` results come back whenever
the chosen domains hold that many items.

**One item per path.** An item with a uri is the content of that path in its domain and source: adding the same
uri again with another content hash replaces its vector in place (same id); with the same hash it is unchanged
(an item added without a source is taken over by the first source that lists its uri). Several
paths may share a content hash (a copy under a new name is its own item, with the stored vector: no embedding).
Items without a uri are identified by their content hash. ``remove(ids)`` deletes items: in place when the faiss
index can (Flat, IVF, PQ), otherwise (HNSW) the vectors are rebuilt from the stored embeddings at ``save``, which
is also how ``set_factory`` changes the factory without embedding anything again. Ids are never reused.

**Atomic generations.** ``save()`` writes the vectors and the database into a new ``gen-NNNNNN/`` folder, then
replaces ``manifest.json`` (one rename: the switch), then deletes the previous generation, thumbnails no item
refers to, and temporary files. A kill at any point leaves the previous generation readable; what it leaves
behind is removed by the next ``save`` or ``clean_up``. A folder that holds index files but no manifest is refused
by ``create`` (never overwritten).

Indexes written by semspace 0.1.0 and 0.2 (manifest formats 1 and 2: files in the folder itself, ``thumbs/<id>.png``)
open unchanged: the database's numbered migrations ``m004``/``m005`` record their collections and sync columns,
their embeddings are read back from faiss, and the next ``save`` writes the current layout.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semspace.data.domains import DomainSpec
from semspace.errors import ConfigError, DataError, IndexMismatchError
from semspace.index.exact import ExactIndex
from semspace.index.faiss_index import HAVE_FAISS, FaissIndex, as_float32_rows
from semspace.index.journal import JOURNAL_NAME, BuildJournal
from semspace.index.store import ItemStore, ModelInfo
from semspace.types import SearchHit
from semspace.utils.io import atomic_write_bytes, atomic_write_text
from semspace.version import __version__

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 3  # 3: generations; 2: "collections" (the domain records); 1 (0.1.0): all open
THUMB_MAX_SIDE = 128
FILES = {"faiss": "index.faiss", "exact": "vectors.npz"}
BUILD_HINT = "build one with: semspace index build --run-dir RUN_DIR --data SPEC --out {root}"
GENERATION = re.compile(r"^gen-(\d{6})$")

VectorIndex = FaissIndex | ExactIndex


class EmbeddingIndex:
    """Vectors + item metadata + model record in one folder (see module docstring).

    Use ``EmbeddingIndex.create`` or ``EmbeddingIndex.open`` rather than the constructor.

    Example:
        >>> index = EmbeddingIndex.create("idx", model_info=info, factory="Flat", dim=64)
        >>> index.add(vectors, [{"domain": "render3d", "content_hash": h, "uri": "a.png"} for h in hashes])
        >>> index.save()
        >>> EmbeddingIndex.open("idx").search(queries, k=5)[0][0].uri
    """

    def __init__(self, root: Path, vectors: VectorIndex, store: ItemStore, manifest: dict[str, Any]) -> None:
        self.root, self.vectors, self.store, self.manifest = root, vectors, store, manifest
        self._rebuild = False  # the vectors must be rebuilt from the stored embeddings before the next save

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
        if (path / "manifest.json").exists():
            raise DataError(f"{path} already holds an index; open it with EmbeddingIndex.open or choose another folder")
        if path.exists() and not path.is_dir():
            raise DataError(f"{path} is a file, not an index folder; choose another --out")
        leftovers = ("thumbs", JOURNAL_NAME)  # what an unfinished first build leaves: it resumes
        others = sorted(p.name for p in path.iterdir() if p.name not in leftovers) if path.is_dir() else []
        if others:
            damaged = any(GENERATION.match(n) or n in ("items.sqlite", *FILES.values()) for n in others)
            what = "index files but no manifest.json (a damaged index?)" if damaged else "files that are not an index"
            raise DataError(
                f"{path} holds {what}: {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}; it is not "
                "overwritten. Choose another --out, or move the folder away first"
            )
        if int(dim) != int(model_info.embed_dim):
            raise ConfigError(f"index dim {dim} differs from the model's embedding dimension {model_info.embed_dim}")
        if backend == "auto":
            backend = "faiss" if HAVE_FAISS else "exact"
        if backend not in FILES:
            raise ConfigError(f"index backend must be 'faiss', 'exact' or 'auto', got {backend!r}")
        vectors: VectorIndex = FaissIndex(dim, factory, nprobe=nprobe) if backend == "faiss" else ExactIndex(dim)
        store = ItemStore.open(None)
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
        """Opens an index folder written by ``save`` (its current generation).

        Raises:
            DataError: the folder or one of its files is missing or unreadable, or the files disagree
                (the message names the path and says how to build an index).
        """
        path = Path(root)
        hint = BUILD_HINT.format(root=path)
        if not path.is_dir():
            raise DataError(f"index folder {path} does not exist; {hint}")
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            unfinished = " (an unfinished first build: run it again to resume)" if BuildJournal.exists(path) else ""
            raise DataError(f"{path} is not an index folder (no manifest.json){unfinished}; {hint}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{manifest_path}: not valid JSON ({exc}); {hint}") from None
        if manifest.get("format", 0) > MANIFEST_FORMAT:
            raise DataError(f"{manifest_path}: index format {manifest.get('format')} is newer than this semspace reads")
        backend = manifest.get("backend", "faiss")
        if backend not in FILES:
            raise DataError(f"{manifest_path}: unknown backend {backend!r}; expected one of {sorted(FILES)}")
        files = path / str(manifest["generation"]) if manifest.get("generation") else path
        for name in (FILES[backend], "items.sqlite"):
            if not (files / name).is_file():
                raise DataError(f"index folder {path} lacks {(files / name).relative_to(path)}; {hint}")
        factory, nprobe = str(manifest.get("factory", "Flat")), int(manifest.get("nprobe", 16))
        vectors: VectorIndex
        if backend == "faiss":
            vectors = FaissIndex.load(files / FILES[backend], factory, nprobe=nprobe)
        else:
            vectors = ExactIndex.load(files / FILES[backend])
        store = ItemStore.open(files / "items.sqlite")
        if store.get_model() is None:
            raise DataError(f"{files / 'items.sqlite'} has no model record; {hint}")
        counts = {
            "manifest.json": manifest.get("ntotal"),
            FILES[backend]: vectors.ntotal,
            "items.sqlite": store.count(),
        }
        if len(set(counts.values())) != 1:
            raise DataError(
                f"index folder {path} is inconsistent ({', '.join(f'{k}: {v}' for k, v in counts.items())} items), "
                f"probably an interrupted save; rebuild it ({hint})"
            )
        index = cls(path, vectors, store, manifest)
        index._recover_embeddings()
        return index

    def _recover_embeddings(self) -> None:
        """Indexes written before the ``vectors`` table (schema 5) get their embeddings back from faiss."""
        missing = self.store.missing_vectors()
        if not missing:
            return
        vecs = self.vectors.reconstruct([i for i, _, _ in missing])  # (M, D), normalised: the same cosine
        for dom in {d for _, d, _ in missing}:
            rows = [r for r, (_, d, _) in enumerate(missing) if d == dom]
            self.store.put_vectors(dom, [missing[r][2] for r in rows], vecs[rows])
        logger.info("%s: read %d embeddings back from the vector index (an index from before schema 5)",
                    self.root, len(missing))  # fmt: skip

    # ---- model -----------------------------------------------------------------------------------
    @property
    def model_info(self) -> ModelInfo:
        info = self.store.get_model()
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
        for name, record in self.store.get_domains().items():
            try:
                out[name] = DomainSpec.from_dict(record, f"{self.root / 'items.sqlite'}: domain {name!r}")
            except ConfigError as exc:
                raise DataError(str(exc)) from None
        return out

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
        self.store.set_domain(spec.to_dict())

    # ---- items -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.store.count()

    @property
    def dim(self) -> int:
        return int(self.vectors.dim)

    def add(self, vectors: Any, items: list[dict[str, Any]]) -> list[int]:
        """Adds or updates items with their ``vectors (N, D)`` float32; returns their ids (-1: unchanged, skipped).

        Each item has ``domain`` (a collection recorded with ``add_domain``) and ``content_hash`` (required),
        ``uri``, ``label``, ``caption``, ``source``, ``size``, ``mtime_ns`` and an optional ``thumbnail`` (a
        ``PIL.Image``, shrunk to at most 128 px a side, or PNG bytes from ``thumbnail_png``). An item whose uri
        is stored in its domain is updated in place (same id) when its content hash differs and skipped when it
        is the same; an item without a uri is skipped when its (domain, content hash) is stored; repeats within
        ``items`` are skipped. Changes are in memory until ``save()``, but thumbnails are written at once (under
        their content hash, so they never overwrite another content's).

        Raises:
            DataError: shapes disagree, an item lacks ``domain`` / ``content_hash``, or its domain has no collection.
            ConfigError: the index needs training and got too few vectors (IVF, PQ factories).
        """
        x = as_float32_rows(vectors, self.dim)  # (N, D)
        if len(x) != len(items):
            raise DataError(f"got {len(x)} vectors but {len(items)} items")
        collections = self.store.get_domains()
        for i, it in enumerate(items):
            if not it.get("domain") or not it.get("content_hash"):
                raise DataError(f"item {i} needs 'domain' and 'content_hash', got keys {sorted(it)}")
            if str(it["domain"]) not in collections:
                raise DataError(
                    f"item {i}: domain {it['domain']!r} has no collection in {self.root}; record it first with "
                    f"add_domain(spec) (collections: {sorted(collections)})"
                )
        stored: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (domain, source) -> uri -> stored item
        known: dict[str, set[str]] = {}  # domain -> stored hashes of the uri-less items given
        for dom, src in {(str(it["domain"]), str(it.get("source", ""))) for it in items}:
            mine = [it for it in items if it["domain"] == dom and str(it.get("source", "")) == src]
            uris = [str(it["uri"]) for it in mine if it.get("uri")]
            stored[dom, src] = self.store.items_by_uri(dom, uris, source=src)
        for dom in {str(it["domain"]) for it in items}:
            hashes = [str(it["content_hash"]) for it in items if it["domain"] == dom and not it.get("uri")]
            known[dom] = self.store.existing_hashes(dom, hashes)
        ids: list[int] = []
        new_rows: list[tuple[int, dict[str, Any]]] = []  # (position in items, row)
        changed: list[tuple[int, dict[str, Any]]] = []
        seen: set[tuple[str, str, str]] = set()
        next_id = self.store.next_id()
        for i, it in enumerate(items):
            dom, h, uri, src = (
                str(it["domain"]),
                str(it["content_hash"]),
                str(it.get("uri") or ""),
                str(it.get("source", "")),
            )
            key = (dom, src, f"uri:{uri}" if uri else f"hash:{h}")
            old = stored[dom, src].get(uri) if uri else None
            if key in seen or (old is None and not uri and h in known[dom]):
                ids.append(-1)
                continue
            seen.add(key)
            row = {**{k: v for k, v in it.items() if k != "thumbnail"}}
            if old is not None:
                if old["content_hash"] == h:
                    ids.append(-1)
                    continue
                row["id"] = int(old["id"])
                changed.append((i, row))
            else:
                row["id"] = next_id
                next_id += 1
                new_rows.append((i, row))
            ids.append(int(row["id"]))
        if changed:
            self._drop_vectors([int(r["id"]) for _, r in changed])
            self.store.update_items([r for _, r in changed])
        rows = new_rows + changed
        if not rows:
            return ids
        self.store.add_items([r for _, r in new_rows])
        for dom in {str(r["domain"]) for _, r in rows}:
            in_dom = [(i, r) for i, r in rows if r["domain"] == dom]
            self.store.put_vectors(dom, [str(r["content_hash"]) for _, r in in_dom], x[[i for i, _ in in_dom]])
        if not self._rebuild:
            self.vectors.add(x[[i for i, _ in rows]], np.array([r["id"] for _, r in rows], dtype=np.int64))  # (n, D)
        for i, row in rows:
            thumb = items[i].get("thumbnail")
            if thumb is not None:
                self._write_thumbnail(str(row["content_hash"]), thumb)
        return ids

    def remove(self, ids: Iterable[int]) -> int:
        """Removes the items of ``ids`` (unknown ids are ignored); returns how many were removed. In memory until
        ``save()``; the vectors go in place when the faiss index can remove, else they are rebuilt at ``save``."""
        wanted = sorted({int(i) for i in ids} & set(self.store.get_many(ids)))
        if not wanted:
            return 0
        self._drop_vectors(wanted)
        return self.store.remove_items(wanted)

    def _drop_vectors(self, ids: list[int]) -> None:
        if not self._rebuild and not self.vectors.remove(np.asarray(ids, dtype=np.int64)):
            self._rebuild = True  # HNSW cannot remove: rebuilt from the stored embeddings before the next save

    def set_factory(self, factory: str) -> None:
        """Changes the faiss factory string: the vectors are rebuilt from the stored embeddings at ``save`` (nothing
        is embedded again).

        Raises:
            ConfigError: not a valid factory string, or the exact backend (which searches exhaustively).
        """
        if self.manifest.get("backend") != "faiss":
            raise ConfigError(f"index {self.root} uses the exact backend, which has no factory (it is exhaustive)")
        FaissIndex(self.dim, factory)  # validates the string now, not at save
        self.manifest["factory"] = factory
        self._rebuild = True

    def _rebuild_vectors(self) -> None:
        """A new vector index of the current factory holding every item's stored embedding."""
        fresh = (
            FaissIndex(self.dim, str(self.manifest.get("factory", "Flat")), nprobe=int(self.manifest.get("nprobe", 16)))
            if isinstance(self.vectors, FaissIndex)
            else self.vectors.empty_like()
        )
        ids, vecs = self.store.item_vectors()  # (N,), (N, D)
        if len(ids):
            fresh.add(vecs, ids)
        self.vectors, self._rebuild = fresh, False

    def has(self, domain: str, content_hash: str) -> bool:
        """Whether an item with this content is already stored for ``domain``."""
        return self.store.has_hash(domain, content_hash)

    def get_item(self, item_id: int) -> dict[str, Any] | None:
        """The item dict of ``item_id`` (``id, domain, uri, label, caption, content_hash``), or None."""
        return self.store.get(item_id)

    def reconstruct(self, item_id: int) -> np.ndarray:
        """The stored vector ``(D,)`` of an item; an unknown id is a ``DataError``."""
        if self.store.get(item_id) is None:
            raise DataError(f"index {self.root} has no item with id {item_id} (ids run from 0 to {len(self) - 1})")
        vec: np.ndarray = self.vectors.reconstruct([item_id])[0]  # (D,)
        return vec

    def thumbnail_path(self, item_id: int) -> Path | None:
        """Where the item's thumbnail is (under its content hash; ``thumbs/<id>.png`` in older indexes), or None."""
        item = self.store.get(item_id)
        if item is None:
            return None
        for p in (self._hash_thumb(str(item["content_hash"])), self.root / "thumbs" / f"{int(item_id)}.png"):
            if p.is_file():
                return p
        return None

    def thumbnail(self, item_id: int) -> Image.Image | None:
        """The item's thumbnail as an RGB image, or None when it has none."""
        p = self.thumbnail_path(item_id)
        if p is None:
            return None
        with Image.open(p) as img:
            return img.convert("RGB")

    def _hash_thumb(self, content_hash: str) -> Path:
        return self.root / "thumbs" / content_hash[:2] / f"{content_hash}.png"

    def _write_thumbnail(self, content_hash: str, img: Image.Image | bytes) -> None:
        target = self._hash_thumb(content_hash)
        if not target.is_file():
            atomic_write_bytes(target, img if isinstance(img, bytes) else thumbnail_png(img))

    # ---- search ------------------------------------------------------------------------------------
    def search(self, queries: Any, k: int = 10, domains: str | list[str] | None = None) -> list[list[SearchHit]]:
        """The ``k`` most similar items of each query ``(Q, D)`` (cosine similarity, best first).

        Args:
            queries: ``(Q, D)`` vectors.
            k: results per query.
            domains: search only these collections (a name or a list); None or empty: all of them.

        Raises:
            ConfigError: a named domain has no collection in this index (the message lists them).
        """
        q = as_float32_rows(queries, self.dim, "queries")  # (Q, D)
        allowed = None
        if domains:
            wanted = [domains] if isinstance(domains, str) else list(domains)
            have = self.store.get_domains()
            missing = [d for d in wanted if d not in have]
            if missing:
                raise ConfigError(f"index {self.root} holds no domain {missing}; it holds {sorted(have)}")
            if set(wanted) != set(have):
                allowed = np.asarray(self.store.ids_in_domains(wanted), dtype=np.int64)  # (M,)
        scores, ids = self.vectors.search(q, k, allowed)  # (Q, k), (Q, k)
        meta = self.store.get_many({int(i) for i in ids.reshape(-1) if i >= 0})
        out: list[list[SearchHit]] = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            hits = []
            for s, i in zip(row_scores, row_ids, strict=True):
                it = meta.get(int(i))
                if it is None:
                    continue
                hits.append(SearchHit(id=int(i), score=float(s), domain=it["domain"], uri=it["uri"],
                                      label=it["label"], caption=it["caption"]))  # fmt: skip
            out.append(hits)
        return out

    # ---- persistence -------------------------------------------------------------------------------
    def add_source(self, source: str) -> None:
        """Notes a data source in the manifest (kept once); items synced from a source also record it themselves."""
        if source not in self.manifest.setdefault("sources", []):
            self.manifest["sources"].append(source)

    def save(self) -> None:
        """Writes a new generation (vectors, then items) and switches to it by replacing the manifest (one rename);
        then removes the previous generation and whatever no item refers to (``clean_up``)."""
        if self._rebuild:
            self._rebuild_vectors()
        self.store.prune_vectors()
        number = max([int(self.manifest.get("generation", "gen-000000")[4:]), *self._generations()]) + 1
        gen = f"gen-{number:06d}"
        files = self.root / gen
        backend = self.manifest["backend"]
        info = self.model_info
        synced = {s["source"] for s in self.store.sources() if s["source"]}
        sources = sorted({*self.manifest.get("sources", []), *synced})
        manifest = {
            **self.manifest, "format": MANIFEST_FORMAT, "generation": gen, "ntotal": self.vectors.ntotal,
            "domains": self.store.domain_counts(), "collections": self.store.get_domains(), "model": info.to_dict(),
            "sources": sources, "semspace_version": __version__, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }  # fmt: skip
        try:
            files.mkdir(parents=True)
            self.vectors.write(files / FILES[backend])
            self.store.write(files / "items.sqlite")
            for name in (FILES[backend], "items.sqlite"):
                _fsync(files / name)
            atomic_write_text(self.root / "manifest.json", json.dumps(manifest, indent=2) + "\n")  # the switch
        except BaseException:
            shutil.rmtree(files, ignore_errors=True)  # the previous generation stays current
            raise
        self.manifest = manifest
        self.clean_up()

    def _generations(self) -> list[int]:
        if not self.root.is_dir():
            return []
        return [int(m.group(1)) for p in self.root.iterdir() if (m := GENERATION.match(p.name))]

    def clean_up(self, keep_hashes: Iterable[str] = ()) -> dict[str, int]:
        """Deletes what the current generation does not use: other generations (a killed save's or the previous
        one), the files of the pre-generation layout, temporary files, and thumbnails of contents no item (and no
        hash of ``keep_hashes``, an unfinished build's) refers to. Returns how many of each were removed."""
        current = self.manifest.get("generation")
        removed = {"generations": 0, "files": 0, "thumbnails": 0}
        if not current or not self.root.is_dir():
            return removed
        for p in self.root.iterdir():
            if GENERATION.match(p.name) and p.name != current and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                removed["generations"] += 1
            elif p.is_file() and (p.name in ("items.sqlite", *FILES.values()) or ".tmp." in p.name):
                p.unlink(missing_ok=True)  # the flat layout of formats 1-2, or a killed atomic write
                removed["files"] += 1
        thumbs = self.root / "thumbs"
        if thumbs.is_dir():
            hashes = self.store.content_hashes() | set(keep_hashes)
            ids = {int(i["id"]): str(i["content_hash"]) for i in self.store.iter_items()}
            for entry in os.scandir(thumbs):
                if entry.is_dir(follow_symlinks=False):
                    left = 0
                    for f in os.scandir(entry.path):  # thumbs/ab/<hash>.png
                        stem, dot, ext = f.name.partition(".")
                        if f.is_file(follow_symlinks=False) and ext == "png" and stem in hashes:
                            left += 1
                        else:
                            os.unlink(f.path)
                            removed["thumbnails"] += 1
                    if not left:
                        os.rmdir(entry.path)
                    continue
                stem = entry.name.removesuffix(".png")  # thumbs/<id>.png of formats 1-2, until the content changes
                if not (stem.isdigit() and int(stem) in ids and not self._hash_thumb(ids[int(stem)]).is_file()):
                    os.unlink(entry.path)
                    removed["thumbnails"] += 1
        return removed

    def info(self) -> dict[str, Any]:
        """A JSON-able summary: the manifest plus the live counts, the synced sources and the size on disk."""
        size = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else 0
        return {
            **self.manifest,
            "ntotal": self.vectors.ntotal,
            "domains": self.store.domain_counts(),
            "collections": self.store.get_domains(),
            "source_items": self.store.sources(),
            "unfinished_build": BuildJournal.exists(self.root),
            "bytes_on_disk": size,
            "root": str(self.root),
        }

    def __repr__(self) -> str:
        return f"EmbeddingIndex(root={str(self.root)!r}, items={len(self)}, factory={self.manifest.get('factory')!r})"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def thumbnail_png(img: Image.Image, max_side: int = THUMB_MAX_SIDE) -> bytes:
    """``img`` shrunk to at most ``max_side`` pixels a side (aspect kept, never enlarged), as PNG bytes."""
    thumb = img.convert("RGB") if img.mode not in ("RGB", "L") else img.copy()
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return buf.getvalue()
