"""The work of one index build: list a source, decide what to read, embed and remove (``retrieval.indexing``).

``SourceSync`` compares a source's listing (``list_entries``: uri, file size and mtime, nothing read) with the
items the index holds of that source: unchanged files are not read; the rest are hashed, and only contents neither
stored nor finished by an unfinished build (the journal) are embedded, batch by batch, each batch committed to the
journal before it is added to the index in memory. Unreadable items are skipped and listed (or fatal with
``strict``); an item the source no longer lists is removed. It uses only ``EmbeddingIndex``'s public methods.

**Flat memory** (issue 19): the source is listed, compared and embedded ``LIST_CHUNK`` items at a time; only that
chunk's stored items are looked up, vectors wait in memory only until the next flush (``FLUSH_EVERY``, or the
training sample of an IVF / PQ index), a copy of content embedded earlier in the build is found in the journal, and
the items gone from the source are found by comparing id arrays. What grows with the source: the vector index itself
(faiss, in C++ memory) and 8 bytes per listed item.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from semspace.data.collate import collate_dicts
from semspace.data.domains import DomainSpec
from semspace.errors import DataError
from semspace.eval.embedding import batch_inputs, embed_batch, iter_batches
from semspace.index import EmbeddingIndex
from semspace.index.journal import BuildJournal, JournalEntry
from semspace.retrieval.inputs import content_hashes, item_record
from semspace.tasks import Task
from semspace.types import DOMAIN, INDEX
from semspace.utils.hashing import file_sha256

FLUSH_EVERY = 2048  # pending vectors added to a trained index at a time
LIST_CHUNK = 16384  # items of the source listed, compared and embedded at a time
RAY_CHUNK = 262144  # the same on Ray, whose actors load the model once per chunk (~760 B an item: embed_scale)
TRAIN_SAMPLE = 32768  # an index that needs training (IVF, PQ) trains on this many first vectors (or its choice's)
ERROR = "__load_error__"  # key of the stand-in item for an unreadable one


@dataclass(frozen=True)
class Entry:
    """One item of a source as listed before anything is read."""

    position: int  # in the dataset
    uri: str
    path: Path | None  # the file, when the item is one
    size: int | None
    mtime_ns: int | None


class SourceSync:
    """The work of one build: what to read, what to embed, what to remove (module docstring)."""

    def __init__(self, index: EmbeddingIndex, journal: BuildJournal, task: Task, target: DomainSpec, source: str,
                 dataset_name: str, device: torch.device, strict: bool, check_domains: bool) -> None:  # fmt: skip
        self.index, self.journal, self.task, self.target = index, journal, task, target
        self.source, self.dataset_name, self.device, self.strict = source, dataset_name, device, strict
        self.check_domains = check_domains  # items naming another domain (unless --domain forces one)
        self.stored: dict[str, dict[str, Any]] = {}  # uri -> item (its own, or unsourced), of the current chunk
        self.seen = array("q")  # ids of the source's stored items that the listing still holds (8 B each)
        self.todo: list[Entry] = []  # to read (and hash), of the current chunk
        self.file_hash: dict[int, str] = {}  # position -> sha256 of the file, for files hashed before loading
        self.touched: list[dict[str, Any]] = []  # unchanged content, new size/mtime/source (applied per chunk)
        self.removed_ids: list[int] = []
        self.unreadable: list[tuple[str, str]] = []
        self.listed = self.touched_total = 0
        self.added = self.updated = self.unchanged = self.embedded = self.reused = self.resumed = self.written = 0
        self.vecs: list[np.ndarray] = []
        self.items: list[dict[str, Any]] = []
        self.train_sample = max(TRAIN_SAMPLE, index.train_vectors)  # an IVF / PQ index trains on its first flush

    def run(self, source: Any, uri_prefix: str, *, deterministic: bool, batch_size: int, num_workers: int,
            progress: bool, on_ray: Callable[[list[int]], Iterator[Any]] | None = None) -> None:  # fmt: skip
        """The whole sync, chunk by chunk (module docstring); ``removed_ids`` holds what must go afterwards.

        ``on_ray(positions)``: embed on Ray (``retrieval.ray_embedding.ray_batches`` bound to the run, data and
        settings); its actors start once per chunk, so chunks are ``RAY_CHUNK`` items there."""
        desc = f"embedding {self.dataset_name} as {self.target.name}"
        chunk = LIST_CHUNK if on_ray is None else RAY_CHUNK
        with tqdm(total=len(source), desc=desc, unit="item", disable=not progress) as bar:
            for start in range(0, len(source), chunk):
                listing = list_entries(source, uri_prefix, range(start, min(len(source), start + chunk)))
                self.listed += len(listing)
                self.stored = self.index.items_by_uri(self.target.name, self.source, [e.uri for e in listing])
                mine = [int(it["id"]) for it in self.stored.values() if it["source"] == self.source]
                self.seen.extend(mine)
                self.todo, self.file_hash = [], {}
                self.plan(listing, deterministic=deterministic)
                self.hash_files()
                bar.update(len(listing) - len(self.todo))
                if on_ray is None:
                    self.load_and_embed(source, batch_size, num_workers, bar)
                elif self.todo:
                    self.embed_on_ray(on_ray([e.position for e in self.todo]), bar)
                self.index.touch(self.touched)
                self.touched_total, self.touched = self.touched_total + len(self.touched), []
        self._flush()
        seen = np.frombuffer(self.seen, dtype=np.int64)  # (S,)
        gone = np.setdiff1d(self.index.ids_of_source(self.source, self.target.name), seen)
        self.removed_ids = sorted({*self.removed_ids, *(int(i) for i in gone)})

    # ---- listing ---------------------------------------------------------------------------------
    def plan(self, listing: list[Entry], *, deterministic: bool) -> None:
        """Unchanged items (same file size and mtime, or a world item of the same source) need no reading."""
        for e in listing:
            old = self.stored.get(e.uri)
            if old is None or old["source"] != self.source:
                self.todo.append(e)
            elif e.path is not None and e.size is not None and (old["size"], old["mtime_ns"]) == (e.size, e.mtime_ns):
                self.unchanged += 1
            elif e.path is None and deterministic:
                self.unchanged += 1
            else:
                self.todo.append(e)

    def hash_files(self) -> None:
        """Files to read are hashed first when that can spare their decoding: a stored item's file with a new size
        or mtime (its bytes may be the same: touched) or any file while a killed build's journal is there (finished
        content). A new file of a first build is hashed once, while it is loaded."""
        journal = len(self.journal) > 0
        files = [e for e in self.todo if e.path is not None and (journal or e.uri in self.stored)]
        later: list[Entry] = [e for e in self.todo if e.path is None or not (journal or e.uri in self.stored)]
        for e in files:
            assert e.path is not None
            try:
                h = file_sha256(e.path)
            except OSError as exc:
                self._unreadable(e.uri, f"cannot read the file ({exc.strerror or exc})")
                continue
            old = self.stored.get(e.uri)
            if old is not None and old["content_hash"] == h:
                self._touch(old, e)
                continue
            self.file_hash[e.position] = h
            later.append(e)
        self.todo = sorted(later, key=lambda e: e.position)

    def _touch(self, old: dict[str, Any], e: Entry) -> None:
        self.touched.append({"id": old["id"], "source": self.source, "size": e.size, "mtime_ns": e.mtime_ns})
        self.seen.append(int(old["id"]))  # an adopted item (no source before) is listed
        self.unchanged += 1

    def skip(self, path: str, reason: str) -> None:
        """Lists a path the source's scan found but never opened (a FIFO, a socket, a device, a broken link)."""
        self.unreadable.append((path, reason))

    def _unreadable(self, uri: str, reason: str) -> None:
        if self.strict:
            raise DataError(f"{uri}: {reason} (without --strict, unreadable items are skipped and listed)")
        self.unreadable.append((uri, reason))
        old = self.stored.get(uri)
        if old is not None and int(old["id"]) not in self.removed_ids:
            self.removed_ids.append(int(old["id"]))  # the index shows what the source holds

    # ---- reading and embedding -----------------------------------------------------------------------
    def load_and_embed(self, source: Any, batch_size: int, num_workers: int, bar: tqdm) -> None:
        """Reads and embeds the chunk's ``todo`` here, in batches (``iter_batches``: DataLoader workers)."""
        if not self.todo:
            return
        entries = {e.position: e for e in self.todo}
        subset = Tolerant(source, [e.position for e in self.todo])
        specs = self.task.domains()
        batches = iter_batches(subset, None, batch_size=batch_size, num_workers=num_workers,
                               collate_fn=collate_tolerant, progress=False)  # fmt: skip
        for batch, errors in batches:  # the source has its domain's preprocessing attached (build_index)
            bar.update(len(errors) + (len(batch[INDEX]) if batch is not None else 0))
            self._errors(errors, entries)
            if batch is None:
                continue
            if self.check_domains:
                check_item_domains(batch, specs, self.target)
            key, _ = batch_inputs(batch, self.target, self.dataset_name)
            positions = [int(p) for p in batch[INDEX]]
            known = [self.file_hash.get(p) for p in positions]
            hashes = [k or h for k, h in zip(known, lazy_hashes(batch, key, self.target, known), strict=True)]

            def embed(rows: list[int], batch: dict[str, Any] = batch, key: str = key) -> np.ndarray:
                z = embed_batch(self.task, batch, self.target, device=self.device, rows=rows, key=key)
                return z.float().cpu().numpy()  # (len(rows), D)

            def record(i: int, batch: dict[str, Any] = batch, key: str = key, hashes: list[str] = hashes
                       ) -> dict[str, Any]:  # fmt: skip
                thumb = not self.index.has_thumbnail(hashes[i])  # a copy's or a killed build's is there already
                return item_record(batch, i, key, hashes[i], self.target, "", thumbnail=thumb)  # uri: the listing's

            self._take(positions, hashes, entries, embed, record)
        self._flush()

    def embed_on_ray(self, batches: Iterator[Any], bar: tqdm) -> None:
        """Takes the chunk's ``todo`` from ``retrieval.ray_embedding.ray_batches`` (``RayBatch``es: every row
        embedded by the actors, with its hash, label, caption and thumbnail)."""
        entries = {e.position: e for e in self.todo}
        specs = self.task.domains()
        for rb in batches:
            bar.update(len(rb.positions) + len(rb.errors))
            self._errors(rb.errors, entries)
            if not rb.positions:
                continue
            if self.check_domains:
                check_item_domains({DOMAIN: list(rb.domains)}, specs, self.target)

            def record(i: int, rb: Any = rb) -> dict[str, Any]:
                return {"domain": self.target.name, "label": rb.labels[i], "caption": rb.captions[i],
                        "content_hash": rb.content_hashes[i], "thumbnail": rb.thumbnails[i]}  # fmt: skip

            def embedded(rows: list[int], rb: Any = rb) -> np.ndarray:
                return np.asarray(rb.vectors[rows], dtype=np.float32)  # (len(rows), D): the actors embedded all

            self._take(list(rb.positions), list(rb.content_hashes), entries, embedded, record)
        self._flush()

    def _errors(self, errors: list[tuple[int, str]], entries: dict[int, Entry]) -> None:
        for position, reason in errors:
            e = entries[position]
            for name in (str(e.path), e.uri):  # the loader's message starts with the file's name
                reason = reason.removeprefix(f"{name}: ")
            self._unreadable(e.uri, reason)

    def _take(self, positions: list[int], hashes: list[str], entries: dict[int, Entry],
              embed: Callable[[list[int]], np.ndarray], record: Callable[[int], dict[str, Any]]) -> None:  # fmt: skip
        """One batch: each row is unchanged (touched), takes a stored or journaled vector (a copy, or a killed
        build's), or is embedded (``embed(rows) -> (n, D)``, once per content); ``record(row)`` is its item."""
        stored_vecs = self.index.stored_vectors(self.target.name, hashes)
        journaled = self.journal.vectors_for(self.target.name, hashes)  # hash -> (vector, embedded by this build)
        rows: list[tuple[int, np.ndarray | None]] = []  # (row in batch, vector or None: embedded now)
        todo: dict[str, int] = {}  # content hash -> the row of this batch that embeds it (its copies reuse it)
        for i, (p, h) in enumerate(zip(positions, hashes, strict=True)):
            e, old = entries[p], self.stored.get(entries[p].uri)
            if old is not None and old["content_hash"] == h:
                self._touch(old, e)
                continue
            vec, mine = stored_vecs.get(h), h in journaled and journaled[h][1]
            if vec is None and h in journaled:
                vec = journaled[h][0]
                self.resumed += int(not mine)  # a killed build's; this build's own: a copy (reused)
            if mine or (vec is not None and h in stored_vecs) or h in todo:
                self.reused += 1
            rows.append((i, vec))
            if vec is None:
                todo.setdefault(h, i)
        fresh: dict[str, np.ndarray] = {}  # hash -> (D,) embedded now
        if todo:
            chosen = list(todo.values())
            fresh = dict(zip(todo, embed(chosen), strict=True))  # hash -> (D,)
            self.embedded += len(chosen)
            self.journal.record([
                JournalEntry(self.target.name, self.source, entries[positions[i]].uri, entries[positions[i]].size,
                             entries[positions[i]].mtime_ns, hashes[i], fresh[hashes[i]])
                for i in chosen
            ])  # fmt: skip
        for i, vec in rows:
            e = entries[positions[i]]
            item = record(i)
            item.update(uri=e.uri, source=self.source, size=e.size, mtime_ns=e.mtime_ns)
            self.items.append(item)
            self.vecs.append((vec if vec is not None else fresh[hashes[i]])[None])  # (1, D)
            if e.uri in self.stored:
                self.updated += 1
            else:
                self.added += 1
            if len(self.items) >= (self.train_sample if self.index.needs_training else FLUSH_EVERY):
                self._flush()

    def _flush(self) -> None:
        if not self.items:
            return
        ids = self.index.add(np.concatenate(self.vecs), self.items)
        self.written += sum(1 for i in ids if i >= 0)
        self.seen.extend(i for i in ids if i >= 0)  # listed: not gone
        self.vecs.clear()
        self.items.clear()


def lazy_hashes(batch: dict[str, Any], key: str, spec: DomainSpec, known: list[str | None]) -> list[str]:
    """Content hashes of the rows whose file was not hashed already (``content_hashes``); ``""`` for the others."""
    if all(known):
        return [""] * len(known)
    return list(content_hashes(batch, key, spec))


def list_entries(source: Any, uri_prefix: str, positions: range | None = None) -> list[Entry]:
    """The uri of every item (of ``positions``), and its file size and mtime when it is a file, without reading any.

    A file's uri is its absolute path with the dataset's root resolved (symlinks in the root followed, the path
    below it as listed); the root is resolved once, not every file (a 5,000-file rebuild spends most of its time
    here otherwise)."""
    positions = range(len(source)) if positions is None else positions
    path_of = getattr(source, "item_path", None)
    if not callable(path_of):
        return [Entry(pos, f"{uri_prefix}/{pos}", None, None, None) for pos in positions]
    root = os.fspath(getattr(source, "root", ""))
    real_root = os.path.realpath(root) if root else ""
    out = []
    for pos in positions:
        listed = os.fspath(path_of(pos))
        if root and listed.startswith(root + os.sep):
            uri = real_root + listed[len(root) :]
        else:
            uri = os.path.realpath(listed)
        try:
            st = os.stat(listed)
            out.append(Entry(pos, uri, Path(listed), int(st.st_size), int(st.st_mtime_ns)))
        except OSError:
            out.append(Entry(pos, uri, Path(listed), None, None))  # gone since the scan: read (and fail) later
    return out


class Tolerant(Dataset[dict[str, Any]]):
    """The items at ``positions`` of a dataset; an unreadable one becomes ``{ERROR: reason, INDEX: position}``."""

    def __init__(self, dataset: Any, positions: list[int]) -> None:
        self.dataset, self.positions = dataset, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> dict[str, Any]:
        p = self.positions[i]
        try:
            item = dict(self.dataset[p])
        except DataError as exc:
            return {ERROR: str(exc), INDEX: p}
        item[INDEX] = p
        return item


def collate_tolerant(items: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    errors = [(int(it[INDEX]), str(it[ERROR])) for it in items if ERROR in it]
    good = [it for it in items if ERROR not in it]
    return (collate_dicts(good) if good else None), errors


def check_item_domains(batch: dict[str, Any], specs: dict[str, DomainSpec], target: DomainSpec) -> None:
    """Items that name another domain of the task, with another kind or input record, cannot share this build."""
    if not isinstance(batch.get(DOMAIN), list):
        return
    for own in set(batch[DOMAIN]) - {target.name}:
        if own in specs and set(specs[own].differences(target)) - {"name"}:
            raise DataError(
                f"the data mixes domains {target.name!r} and {own!r}, which the task prepares differently; "
                "build each with its own --domain"
            )
