"""The work of one index build: list a source, decide what to read, embed and remove (``retrieval.indexing``).

``SourceSync`` compares a source's listing (``list_entries``: uri, file size and mtime, nothing read) with the
items the index holds of that source: unchanged files are not read; the rest are hashed, and only contents neither
stored nor finished by an unfinished build (the journal) are embedded, batch by batch, each batch committed to the
journal before it is added to the index in memory. Unreadable items are skipped and listed (or fatal with
``strict``); an item the source no longer lists is removed. It uses only ``EmbeddingIndex``'s public methods.
"""

from __future__ import annotations

import os
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
TRAIN_SAMPLE = 32768  # an index that needs training (IVF, PQ) is trained on at most this many first vectors
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
        self.stored = index.items_by_uri(target.name, source)  # uri -> item (its own, or unsourced)
        self.fresh: dict[str, np.ndarray] = {}  # content hash -> vector this build embedded (a copy reuses it)
        self.todo: list[Entry] = []  # to read (and hash)
        self.file_hash: dict[int, str] = {}  # position -> sha256 of the file, for files hashed before loading
        self.touched: list[dict[str, Any]] = []  # unchanged content, new size/mtime/source
        self.removed_ids: list[int] = []
        self.unreadable: list[tuple[str, str]] = []
        self.added = self.updated = self.unchanged = self.embedded = self.reused = self.resumed = self.written = 0
        self.vecs: list[np.ndarray] = []
        self.items: list[dict[str, Any]] = []

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
        listed = {e.uri for e in listing}
        gone = [it for it in self.index.items_of_source(self.source, self.target.name) if it["uri"] not in listed]
        self.removed_ids = [int(it["id"]) for it in gone]

    def hash_files(self, progress: bool) -> None:
        """Files to read are hashed first: a file whose bytes are stored (touched) or finished by a killed build
        (journal) is not decoded."""
        files = [e for e in self.todo if e.path is not None]
        later: list[Entry] = [e for e in self.todo if e.path is None]
        for e in tqdm(files, desc="hashing changed files", unit="file", disable=not progress or len(files) < 200):
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
    def load_and_embed(self, source: Any, batch_size: int, num_workers: int, progress: bool) -> None:
        if not self.todo:
            return
        entries = {e.position: e for e in self.todo}
        subset = Tolerant(source, [e.position for e in self.todo])
        specs = self.task.domains()
        desc = f"embedding {self.dataset_name} as {self.target.name}"
        batches = iter_batches(subset, None, batch_size=batch_size, num_workers=num_workers,
                               collate_fn=collate_tolerant, progress=progress, desc=desc)  # fmt: skip
        for batch, errors in batches:  # the source has its domain's preprocessing attached (build_index)
            for position, reason in errors:
                e = entries[position]
                for name in (str(e.path), e.uri):  # the loader's message starts with the file's name
                    reason = reason.removeprefix(f"{name}: ")
                self._unreadable(e.uri, reason)
            if batch is None:
                continue
            if self.check_domains:
                check_item_domains(batch, specs, self.target)
            self._embed_batch(batch, entries)
            if len(self.items) >= (TRAIN_SAMPLE if self.index.needs_training else FLUSH_EVERY):
                self._flush()
        self._flush()

    def _embed_batch(self, batch: dict[str, Any], entries: dict[int, Entry]) -> None:
        key, _ = batch_inputs(batch, self.target, self.dataset_name)
        positions = [int(p) for p in batch[INDEX]]
        known = [self.file_hash.get(p) for p in positions]
        hashes = [k or h for k, h in zip(known, lazy_hashes(batch, key, self.target, known), strict=True)]
        stored_vecs = self.index.stored_vectors(self.target.name, hashes)
        finished = self.journal.vectors_for(self.target.name, hashes)  # an earlier, unfinished build's embeddings
        rows: list[tuple[int, np.ndarray | None]] = []  # (row in batch, vector or None: embedded now)
        todo: dict[str, int] = {}  # content hash -> the row of this batch that embeds it (its copies reuse it)
        for i, (p, h) in enumerate(zip(positions, hashes, strict=True)):
            e, old = entries[p], self.stored.get(entries[p].uri)
            if old is not None and old["content_hash"] == h:
                self._touch(old, e)
                continue
            j = self.journal.lookup(self.target.name, e.uri, e.size, e.mtime_ns)
            vec = stored_vecs.get(h, self.fresh.get(h))  # stored, or embedded earlier in this build: a copy
            if vec is None and j is not None and j.content_hash == h:
                vec, self.resumed = j.vector, self.resumed + 1
            elif vec is None and h in finished:
                vec, self.resumed = finished[h], self.resumed + 1
            elif vec is not None or h in todo:
                self.reused += 1
            rows.append((i, vec))
            if vec is None:
                todo.setdefault(h, i)
        if todo:
            chosen = list(todo.values())
            z = embed_batch(self.task, batch, self.target, device=self.device, rows=chosen, key=key)
            fresh = dict(zip(todo, z.float().cpu().numpy(), strict=True))  # hash -> (D,)
            self.fresh.update(fresh)
            self.embedded += len(chosen)
            self.journal.record([
                JournalEntry(self.target.name, self.source, entries[positions[i]].uri, entries[positions[i]].size,
                             entries[positions[i]].mtime_ns, hashes[i], fresh[hashes[i]])
                for i in chosen
            ])  # fmt: skip
        for i, vec in rows:
            e = entries[positions[i]]
            record = item_record(batch, i, key, hashes[i], self.target, "")  # its uri is the listing's
            record.update(uri=e.uri, source=self.source, size=e.size, mtime_ns=e.mtime_ns)
            self.items.append(record)
            self.vecs.append((vec if vec is not None else self.fresh[hashes[i]])[None])  # (1, D)
            if e.uri in self.stored:
                self.updated += 1
            else:
                self.added += 1

    def _flush(self) -> None:
        if not self.items:
            return
        ids = self.index.add(np.concatenate(self.vecs), self.items)
        self.written += sum(1 for i in ids if i >= 0)
        self.vecs.clear()
        self.items.clear()


def lazy_hashes(batch: dict[str, Any], key: str, spec: DomainSpec, known: list[str | None]) -> list[str]:
    """Content hashes of the rows whose file was not hashed already (``content_hashes``); ``""`` for the others."""
    if all(known):
        return [""] * len(known)
    return list(content_hashes(batch, key, spec))


def list_entries(source: Any, uri_prefix: str) -> list[Entry]:
    """Every item's uri (and file size and mtime when it is a file), without reading any item.

    A file's uri is its absolute path with the dataset's root resolved (symlinks in the root followed, the path
    below it as listed); the root is resolved once, not every file (a 5,000-file rebuild spends most of its time
    here otherwise)."""
    path_of = getattr(source, "item_path", None)
    if not callable(path_of):
        return [Entry(pos, f"{uri_prefix}/{pos}", None, None, None) for pos in range(len(source))]
    root = os.fspath(getattr(source, "root", ""))
    real_root = os.path.realpath(root) if root else ""
    out = []
    for pos in range(len(source)):
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
