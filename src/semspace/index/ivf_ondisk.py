"""IVF vectors on disk: a writer adds shards as they arrive and merges them on disk; readers map the lists (issue 19).

An IVF index at 10^6 x 512-d holds 2 GB of codes (``IVF,Flat``); held in the writer's memory it set the build's peak
(3.03 GB, ``index_scale.md``). ``OnDiskIVF`` keeps a generation's inverted lists in a file beside its index, the way
faiss's ``contrib/ondisk.merge_ondisk`` does (an ``OnDiskInvertedLists``: ``index.ivfdata``), and changes it only by
writing the next generation:

* **base**: the published generation's lists, mapped read-only (``IO_FLAG_MMAP_IFC | IO_FLAG_ONDISK_SAME_DIR``;
  readers use nothing else, so a search costs what a plain mapped IVF costs);
* **delta**: the vectors added since, in memory, in an empty copy of the trained index (``trained.faiss``: the
  coarse quantizer and the codec, a few MB). When it holds ``SHARD_BYTES`` of codes it is written as a **shard** to
  the writer's staging folder (``store_files.StagingFolder``) and mapped back: memory stays at one shard;
* **removed**: ids dropped from the base or a shard (never rewritten in place); kept out of searches by a faiss
  ``IDSelector`` and out of the next generation by the merge.

``write(path)`` merges base, shards and delta list by list into one compact ``OnDiskInvertedLists`` (sizes known
before a byte is written: ``set_all_lists_sizes``; one list in memory at a time) beside ``path``, then writes the
index (its hash-table direct map rebuilt, so ``reconstruct`` works) and the trained template. An update of an item in
place (its id removed, then added again) is a removal from the base and an add to the delta: the merge keeps the
delta's copy. A generation whose vectors did not change is hard-linked, not merged.

Searches over several parts search each with the same ``nprobe`` (the parts share the quantizer, so each probes the
same lists the merged index would) and keep the best ``k``: the same answer as one merged index.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from semspace.errors import DataError
from semspace.index.faiss_index import FaissIndex, faiss
from semspace.index.store_files import StagingFolder, link_or_copy

logger = logging.getLogger(__name__)

LISTS = "index.ivfdata"  # the inverted lists of a generation, beside its index.faiss
TRAINED = "trained.faiss"  # the empty trained index (coarse quantizer, codec): where a writer's delta starts
SHARD_BYTES = 256 << 20  # codes a writer's delta holds in memory before it is written out as a shard


def is_ivf(factory: str) -> bool:
    """Whether a factory string makes an IVF index (the kind whose lists can live on disk)."""
    return factory.upper().startswith("IVF") or ",IVF" in factory.upper()


def has_lists_file(folder: Path) -> bool:
    """Whether a generation folder holds on-disk inverted lists."""
    return (folder / LISTS).is_file()


class OnDiskIVF:
    """An IVF index whose generation lists live on disk, changed through an in-memory delta (module docstring).

    Args:
        dim, factory, nprobe, normalize: as ``FaissIndex``.
        staging: the index folder, where a writer's shards go (a ``StagingFolder`` made on the first shard).
    """

    def __init__(self, dim: int, factory: str, *, nprobe: int = 16, normalize: bool = True,
                 staging: Path | None = None) -> None:  # fmt: skip
        self.dim, self.factory, self.nprobe, self.normalize = int(dim), factory, int(nprobe), normalize
        self.staging_root = staging
        self.base: FaissIndex | None = None
        self.base_folder: Path | None = None
        self.delta = FaissIndex(dim, factory, nprobe=nprobe, normalize=normalize)
        self._template: np.ndarray | None = None  # serialised empty trained index (uint8)
        self.shards: list[FaissIndex] = []
        self.removed = np.empty(0, dtype=np.int64)  # ids dropped from base or shards, sorted
        self._folder: StagingFolder | None = None
        self._changed = False

    # ---- opening --------------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path, index_file: Path, factory: str, *, nprobe: int = 16, staging: Path | None = None
             ) -> OnDiskIVF:  # fmt: skip
        """The generation in ``folder`` (``index_file``, ``index.ivfdata``, ``trained.faiss``), mapped read-only.

        A generation written before the lists went to disk (lists inside ``index_file``) is read the same way (mapped)
        and written on disk by the next change; an untrained empty one starts an empty delta.
        """
        if has_lists_file(folder):
            base = _read_mapped(index_file, folder / LISTS, factory, nprobe)
        else:
            base = FaissIndex.load(index_file, factory, nprobe=nprobe, mapped=True)
        self = cls(base.dim, factory, nprobe=nprobe, staging=staging)
        if has_lists_file(folder):
            template = folder / TRAINED
            if not template.is_file():
                raise DataError(f"index generation {folder} lacks {TRAINED} (the trained quantizer); rebuild the index")
            self._template = np.fromfile(template, dtype=np.uint8)
        elif base.is_trained:  # the lists inside the file (before issue 19): the template from a copy, once
            self._template = _serialise_empty(faiss.read_index(str(index_file)))
        if not base.is_trained:
            return self
        self.delta = self._empty_delta()
        self.base, self.base_folder = base, folder
        return self

    def _empty_delta(self) -> FaissIndex:
        if self._template is None:
            return FaissIndex(self.dim, self.factory, nprobe=self.nprobe, normalize=self.normalize)
        index = faiss.deserialize_index(self._template)
        faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        return FaissIndex.from_faiss(index, self.factory, nprobe=self.nprobe, normalize=self.normalize)

    # ---- the VectorIndex face -------------------------------------------------------------------------
    @property
    def mapped(self) -> bool:
        return self.base is not None

    @property
    def parts(self) -> list[FaissIndex]:
        """The base, the shards and the delta, those that hold vectors."""
        return [p for p in (self.base, *self.shards, self.delta) if p is not None and p.ntotal > 0]

    @property
    def ntotal(self) -> int:
        return sum(p.ntotal for p in self.parts) - len(self.removed)

    @property
    def is_trained(self) -> bool:
        return self.base is not None or self.delta.is_trained

    def train(self, vectors: Any) -> None:
        self.delta.train(vectors)

    def add(self, vectors: Any, ids: Any) -> None:
        """Adds ``vectors (N, D)`` under ``ids (N,)`` to the delta (trained on the first add, as ``FaissIndex``)."""
        self.delta.add(vectors, ids)
        self._changed = True
        if self._template is None and self.delta.is_trained:
            self._template = self._serialise_empty()
        ivf = faiss.extract_index_ivf(self.delta.index)
        if self.delta.ntotal * int(ivf.code_size) >= SHARD_BYTES:
            self._spill()

    def remove(self, ids: Any) -> bool:
        """Drops ``ids (N,)``: from the delta in place, from the base and the shards at the next ``write``."""
        i = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))  # (N,)
        if len(i) == 0:
            return True
        held = [p for p in (self.base, *self.shards) if p is not None and p.ntotal > 0]
        in_held = np.array([any(_holds_any(p, int(x)) for p in held) for x in i], dtype=bool)  # (N,)
        newly = np.setdiff1d(i[in_held] if held else i[:0], self.removed)
        self.delta.remove(i)
        self.removed = np.union1d(self.removed, newly)
        self._changed = True
        return True

    def search(self, queries: Any, k: int, allowed: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As ``FaissIndex.search``, over every part, without the removed ids (module docstring)."""
        parts = self.parts
        if not parts:
            return self.delta.search(queries, k, allowed)
        if len(parts) == 1 and len(self.removed) == 0:
            return parts[0].search(queries, k, allowed)
        found = []
        for part in parts:
            exclude = self.removed if part is not self.delta else None
            found.append(part.search(queries, k, allowed, excluded=exclude))
        scores = np.concatenate([s for s, _ in found], axis=1)  # (Q, P*k)
        ids = np.concatenate([i for _, i in found], axis=1)  # (Q, P*k)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (Q, k)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)

    def reconstruct(self, ids: Any) -> np.ndarray:
        """The stored (normalised) vectors of ``ids`` -> ``(N, D)``, from whichever part holds each."""
        want = np.atleast_1d(np.asarray(ids, dtype=np.int64))  # (N,)
        out = np.empty((len(want), self.dim), dtype=np.float32)  # (N, D)
        for row, i in enumerate(want):
            for part in (self.delta, *reversed(self.shards), self.base):
                if part is None or (part is not self.delta and i in self.removed):
                    continue
                if _holds_any(part, int(i)):
                    out[row] = part.reconstruct([int(i)])[0]
                    break
            else:
                raise DataError(f"no vector with id {int(i)} in the index")
        return out

    def empty_like(self) -> OnDiskIVF:
        return OnDiskIVF(self.dim, self.factory, nprobe=self.nprobe, normalize=self.normalize,
                         staging=self.staging_root)  # fmt: skip

    def discard(self) -> None:
        """Deletes this writer's shards (the staging folder)."""
        self.shards = []
        if self._folder is not None:
            self._folder.discard()
            self._folder = None

    # ---- writing a generation -------------------------------------------------------------------------
    def write(self, path: str | os.PathLike[str]) -> None:
        """Writes ``path`` (the index), ``index.ivfdata`` and ``trained.faiss`` beside it (module docstring);
        afterwards this object reads the new generation as its base."""
        path = Path(path)
        folder = path.parent
        if (not self._changed and self.base is not None and self.base_folder is not None
                and has_lists_file(self.base_folder)):  # fmt: skip
            for name in (path.name, LISTS, TRAINED):  # nothing changed: the same files, linked
                link_or_copy(self.base_folder / name, folder / name)
            return
        if self._template is None:  # never trained (no vector was ever added): an empty, untrained index
            self.delta.write(path)
            return
        index = faiss.deserialize_index(self._template)
        ivf = faiss.extract_index_ivf(index)
        lists = faiss.OnDiskInvertedLists(int(ivf.nlist), int(ivf.code_size), str(folder / LISTS))
        with _quiet_stdout():  # faiss prints "resizing <file> to N bytes" on stdout
            ntotal = _merge_lists(lists, self._sources(), self.removed)
        ivf.replace_invlists(lists, True)
        lists.this.disown()  # type: ignore[attr-defined]
        index.ntotal = ivf.ntotal = ntotal
        ivf.set_direct_map_type(faiss.DirectMap.NoMap)  # type: ignore[attr-defined]  # the template's, empty
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # built from the lists
        faiss.write_index(index, str(path))
        self._template.tofile(folder / TRAINED)
        for name in (LISTS, TRAINED):
            _fsync(folder / name)
        del index
        self.discard()
        reopened = OnDiskIVF.open(folder, path, self.factory, nprobe=self.nprobe, staging=self.staging_root)
        self.base, self.base_folder, self.delta = reopened.base, folder, reopened.delta
        self.removed, self._changed = np.empty(0, dtype=np.int64), False

    def _sources(self) -> list[tuple[Any, bool]]:
        """``(inverted lists, filter removed ids)`` of every part, the delta last (its ids are never filtered)."""
        out = [(faiss.extract_index_ivf(p.index).invlists, True) for p in (self.base, *self.shards) if p is not None]
        return [*out, (faiss.extract_index_ivf(self.delta.index).invlists, False)] if self.delta.is_trained else out

    def _serialise_empty(self) -> np.ndarray:
        return _serialise_empty(faiss.clone_index(self.delta.index))

    def _spill(self) -> None:
        """Writes the delta out as a shard (mapped back read-only) and starts an empty one."""
        if self.staging_root is None:
            return  # no folder to write to: stays in memory, as FaissIndex
        if self._folder is None:
            self.staging_root.mkdir(parents=True, exist_ok=True)
            self._folder = StagingFolder(self.staging_root)
        shard = self._folder.path / f"shard-{len(self.shards):05d}.faiss"
        self.delta.write(shard)
        self.shards.append(FaissIndex.load(shard, self.factory, nprobe=self.nprobe, mapped=True))
        logger.debug("%s: shard %d written (%d vectors)", self.staging_root, len(self.shards), self.delta.ntotal)
        self.delta = self._empty_delta()

    def __repr__(self) -> str:
        return f"OnDiskIVF(dim={self.dim}, factory={self.factory!r}, ntotal={self.ntotal}, shards={len(self.shards)})"


def _merge_lists(out: Any, sources: list[tuple[Any, bool]], removed: np.ndarray) -> int:
    """Fills the empty on-disk ``out`` with every source's entries, list by list, without ``removed`` ids (from the
    sources marked to filter); returns how many entries it holds."""
    nlist, code_size = int(out.nlist), int(out.code_size)

    def entries(lists: Any, filtered: bool, list_no: int) -> tuple[np.ndarray, np.ndarray]:
        n = int(lists.list_size(list_no))
        if n == 0:
            return np.empty(0, np.int64), np.empty((0, code_size), np.uint8)
        ids = faiss.rev_swig_ptr(lists.get_ids(list_no), n).view(np.int64)  # (n,)
        codes = faiss.rev_swig_ptr(lists.get_codes(list_no), n * code_size).view(np.uint8).reshape(n, code_size)
        if filtered and len(removed):
            keep = ~np.isin(ids, removed)
            return ids[keep].copy(), codes[keep].copy()
        return ids.copy(), codes.copy()

    sizes = np.zeros(nlist, dtype=np.uint64)  # (nlist,)
    for lists, filtered in sources:
        for list_no in range(nlist):
            n = int(lists.list_size(list_no))
            if n and filtered and len(removed):
                ids = faiss.rev_swig_ptr(lists.get_ids(list_no), n).view(np.int64)
                n = int((~np.isin(ids, removed)).sum())
            sizes[list_no] += n
    out.set_all_lists_sizes(faiss.swig_ptr(sizes))  # contiguous, in list order: (codes, then ids) per list
    out.update_totsize(max(int(sizes.sum()) * (code_size + 8), 64))  # creates, sizes and maps the file
    for list_no in range(nlist):
        if sizes[list_no] == 0:
            continue
        got = [entries(lists, filtered, list_no) for lists, filtered in sources]
        ids = np.ascontiguousarray(np.concatenate([g[0] for g in got]))  # (n,)
        codes = np.ascontiguousarray(np.concatenate([g[1] for g in got]))  # (n, code_size)
        out.update_entries(list_no, 0, len(ids), faiss.swig_ptr(ids), faiss.swig_ptr(codes))
    return int(sizes.sum())


def _read_mapped(index_file: Path, lists_file: Path, factory: str, nprobe: int) -> FaissIndex:
    """The index in ``index_file`` with its on-disk lists mapped read-only from ``lists_file`` (faiss's
    ``IO_FLAG_ONDISK_SAME_DIR`` would do it too, but prints a line on stdout at every open)."""
    try:
        index = faiss.read_index(str(index_file), faiss.IO_FLAG_SKIP_IVF_DATA)
        lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(index).invlists)  # type: ignore[arg-type]
        if not isinstance(lists, faiss.OnDiskInvertedLists):
            raise DataError(f"{index_file}: its inverted lists are not on disk, yet {lists_file.name} is beside it")
        lists.filename, lists.read_only = str(lists_file), True
        lists.prefetch_nthread = 0  # faiss would start 32 threads per search to read ahead; the page cache does it
        lists.do_mmap()
    except RuntimeError as exc:
        raise DataError(f"{index_file}: not a readable faiss index with lists in {lists_file.name} ({exc})") from None
    return FaissIndex.from_faiss(index, factory, nprobe=nprobe, mapped_from=index_file)


def _serialise_empty(index: Any) -> np.ndarray:
    """``index`` emptied (trained state only), serialised: ``(bytes,)`` uint8."""
    index.reset()
    return faiss.serialize_index(index)


def _holds_any(part: FaissIndex, item_id: int) -> bool:
    """Whether the IVF ``part`` holds ``item_id`` (its hash-table direct map)."""
    try:
        faiss.extract_index_ivf(part.index).direct_map.get(item_id)
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Sends what C code prints on file descriptor 1 to /dev/null for the duration (a ``--json`` stdout stays JSON)."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


__all__ = ["LISTS", "SHARD_BYTES", "TRAINED", "OnDiskIVF", "has_lists_file", "is_ivf"]
