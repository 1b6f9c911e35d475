"""``EmbeddingIndex``: a folder that holds searchable embeddings and what they are (DESIGN §5, STYLE F.20).

Layout of an index folder::

    index.faiss      the vectors (faiss, built from a factory string; ``vectors.npz`` for the exact backend)
    items.sqlite     items (id, domain, uri, label, caption, content hash), the model that embedded them and
                     one collection per domain (its ``DomainSpec``: input kind, preprocessing, width)
    manifest.json    format, backend, factory, dim, number of vectors, model, collections, sources
    thumbs/<id>.png  a small picture of each item (max side 128 px), so results show without the original

**Several domains in one index.** Every item belongs to a collection, the domain it was embedded as
(``add_domain(spec)`` before its items); one index can hold, say, 3D renders and their text descriptions, or
photos for sketch queries and photos for text queries. ``search(q, k, domains=...)`` searches one domain, a
list of them, or all (``None``); the restriction is applied inside faiss (an ``IDSelectorBatch``), so ``k``
results come back whenever the chosen domains hold that many items.

``save()`` first writes every file under a temporary name and only then renames them over the old ones
(vectors, then items, then the manifest); an error or a kill while writing leaves the previous index
readable, and ``open`` checks that the three files agree. ``add`` skips items whose content hash is
already stored for their domain, so re-indexing unchanged data embeds nothing twice. ``check_model``
refuses a query model other than the one that built the index, or one whose domains preprocess differently
(``IndexMismatchError``).

Indexes written by semspace 0.1.0 (manifest format 1, database schema 3) open unchanged: the database's numbered
migration ``m004`` records their collections (images, with the model record's preprocessing), and the next
``save`` writes the current formats.
"""

from __future__ import annotations

import io
import json
import logging
import os
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
from semspace.index.store import ItemStore, ModelInfo
from semspace.types import SearchHit
from semspace.utils.io import atomic_write, atomic_write_bytes
from semspace.version import __version__

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 2  # 2: "collections" (the domain records); 1 (0.1.0) opens too
THUMB_MAX_SIDE = 128
FILES = {"faiss": "index.faiss", "exact": "vectors.npz"}
BUILD_HINT = "build one with: semspace index build --run-dir RUN_DIR --data SPEC --out {root}"

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
        """Creates an empty index in ``root`` (a folder without an index) and saves it.

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
            DataError: ``root`` already holds an index.
            ConfigError: bad factory string or backend, or ``dim`` differs from ``model_info.embed_dim``.
        """
        path = Path(root)
        if (path / "manifest.json").exists():
            raise DataError(f"{path} already holds an index; open it with EmbeddingIndex.open or choose another folder")
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
        (path / "thumbs").mkdir(parents=True, exist_ok=True)
        index = cls(path, vectors, store, manifest)
        for spec in domains:
            index.add_domain(spec)
        if save:
            index.save()
        return index

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> EmbeddingIndex:
        """Opens an index folder written by ``save``.

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
            raise DataError(f"{path} is not an index folder (no manifest.json); {hint}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{manifest_path}: not valid JSON ({exc}); {hint}") from None
        if manifest.get("format", 0) > MANIFEST_FORMAT:
            raise DataError(f"{manifest_path}: index format {manifest.get('format')} is newer than this semspace reads")
        backend = manifest.get("backend", "faiss")
        if backend not in FILES:
            raise DataError(f"{manifest_path}: unknown backend {backend!r}; expected one of {sorted(FILES)}")
        for name in (FILES[backend], "items.sqlite"):
            if not (path / name).is_file():
                raise DataError(f"index folder {path} lacks {name}; {hint}")
        factory, nprobe = str(manifest.get("factory", "Flat")), int(manifest.get("nprobe", 16))
        vectors: VectorIndex
        if backend == "faiss":
            vectors = FaissIndex.load(path / FILES[backend], factory, nprobe=nprobe)
        else:
            vectors = ExactIndex.load(path / FILES[backend])
        store = ItemStore.open(path / "items.sqlite")
        if store.get_model() is None:
            raise DataError(f"{path / 'items.sqlite'} has no model record; {hint}")
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
        return cls(path, vectors, store, manifest)

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
        """Adds ``vectors (N, D)`` float32 with one item dict each; returns the new ids (-1: skipped).

        Each item has ``domain`` (a collection recorded with ``add_domain``) and ``content_hash`` (required),
        ``uri``, ``label``, ``caption`` and an optional ``thumbnail`` (a ``PIL.Image``, shrunk to at most 128 px
        a side, or PNG bytes from ``thumbnail_png``), written to ``thumbs/<id>.png``. Items whose (domain,
        content hash) is already stored, or repeated within ``items``, are skipped. Changes are in memory until
        ``save()``.

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
        known: dict[str, set[str]] = {}
        for dom in {str(it["domain"]) for it in items}:
            known[dom] = self.store.existing_hashes(
                dom, [str(it["content_hash"]) for it in items if it["domain"] == dom]
            )
        ids, keep, rows = [], [], []
        next_id = self.store.next_id()
        for i, it in enumerate(items):
            seen = known[str(it["domain"])]
            if str(it["content_hash"]) in seen:
                ids.append(-1)
                continue
            seen.add(str(it["content_hash"]))
            ids.append(next_id)
            keep.append(i)
            rows.append({**{k: v for k, v in it.items() if k != "thumbnail"}, "id": next_id})
            next_id += 1
        if not keep:
            return ids
        self.vectors.add(x[keep], np.array([r["id"] for r in rows], dtype=np.int64))  # (n, D)
        self.store.add_items(rows)
        for i, row in zip(keep, rows, strict=True):
            thumb = items[i].get("thumbnail")
            if thumb is not None:
                self._write_thumbnail(int(row["id"]), thumb)
        return ids

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

    def thumbnail_path(self, item_id: int) -> Path:
        return self.root / "thumbs" / f"{int(item_id)}.png"

    def thumbnail(self, item_id: int) -> Image.Image | None:
        """The item's thumbnail as an RGB image, or None when it has none."""
        p = self.thumbnail_path(item_id)
        if not p.is_file():
            return None
        with Image.open(p) as img:
            return img.convert("RGB")

    def _write_thumbnail(self, item_id: int, img: Image.Image | bytes) -> None:
        atomic_write_bytes(self.thumbnail_path(item_id), img if isinstance(img, bytes) else thumbnail_png(img))

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
        """Notes a data source (a data spec) in the manifest; repeated sources are kept once."""
        if source not in self.manifest.setdefault("sources", []):
            self.manifest["sources"].append(source)

    def save(self) -> None:
        """Writes vectors, items and manifest atomically (all to temporary names first, then renamed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "thumbs").mkdir(exist_ok=True)
        backend = self.manifest["backend"]
        info = self.model_info
        manifest = {
            **self.manifest, "format": MANIFEST_FORMAT, "ntotal": self.vectors.ntotal,
            "domains": self.store.domain_counts(), "collections": self.store.get_domains(), "model": info.to_dict(),
            "semspace_version": __version__, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }  # fmt: skip
        # the last manager (vectors) is renamed first, the manifest last; an error while writing renames nothing
        with (
            atomic_write(self.root / "manifest.json") as t_manifest,
            atomic_write(self.root / "items.sqlite") as t_items,
            atomic_write(self.root / FILES[backend]) as t_vectors,
        ):
            self.vectors.write(t_vectors)
            self.store.write(t_items)
            t_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        self.manifest = manifest

    def info(self) -> dict[str, Any]:
        """A JSON-able summary: the manifest plus the live item counts."""
        return {
            **self.manifest,
            "ntotal": self.vectors.ntotal,
            "domains": self.store.domain_counts(),
            "collections": self.store.get_domains(),
            "root": str(self.root),
        }

    def __repr__(self) -> str:
        return f"EmbeddingIndex(root={str(self.root)!r}, items={len(self)}, factory={self.manifest.get('factory')!r})"


def thumbnail_png(img: Image.Image, max_side: int = THUMB_MAX_SIDE) -> bytes:
    """``img`` shrunk to at most ``max_side`` pixels a side (aspect kept, never enlarged), as PNG bytes."""
    thumb = img.convert("RGB") if img.mode not in ("RGB", "L") else img.copy()
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return buf.getvalue()
