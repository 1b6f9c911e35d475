"""Build an index from a trained run and a data spec, as a **sync** (``semspace index build``).

``build_index`` embeds the items of a dataset (the gallery of a composed-retrieval dataset: ``dataset.gallery()``)
as **one domain** of the run's task, prepared by that domain's own record (``Task.domains()``; ``retrieval.inputs``),
into one collection of an ``EmbeddingIndex`` folder. Building again with another domain or another source adds a
collection or a source to the same index.

**Sync, not append.** The data spec, normalised (``normalise_source``: folders absolute and resolved, arguments
sorted), is the item's *source*. Building a source that is already in the index brings it in line:

* each item is identified by its source and uri (the resolved file path, or ``world:NAME/SPLIT/POSITION`` for
  generated items; items of an older index, which have no source, are taken over by uri); a file whose size and
  modification time are unchanged is not read; a world item already synced from the same source is not rendered
  (the world is a pure function of its spec); anything else is read and hashed;
* an item with the stored content hash is unchanged; new content is re-embedded **in place** (same id);
  content the index already holds under another path (a copy, a rename, a file put back) takes the stored
  embedding (no embedding); items of the source that are gone are removed;
* an unreadable file is skipped and listed (``strict=True``: the first one is fatal); if it was indexed before,
  its old item is removed, since the index shows what the source holds;
* ``factory`` different from the index's rebuilds the vectors from the stored embeddings (nothing re-embedded).

**Atomic at the level of a build.** Nothing of the index changes until the build lands: ``EmbeddingIndex.save``
writes a new generation and switches to it in one rename. Every embedding finished on the way is committed to
the build journal (``index.journal``) batch by batch, so a killed build leaves the previous generation intact and
the next build takes the finished embeddings from the journal instead of embedding them again, and cleans what
the killed one left. A build that changes nothing writes nothing.

The domain is ``domain=`` when given; otherwise the items' own ``DOMAIN`` when the task embeds it, else the task's
last domain whose kind the items carry (``IMAGE`` -> an image domain, ``SKETCH`` -> a sketch domain, ``TEXT`` -> a
text domain, ``FEATURES`` -> a features domain); the stats say which and why (``domain_reason``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from semspace.config import DataSpec
from semspace.data import create_dataset
from semspace.data.collate import collate_dicts
from semspace.data.domains import DomainSpec
from semspace.data.spec import format_data_spec, parse_data_spec
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError, DataError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.index.journal import BuildJournal, JournalEntry
from semspace.retrieval.inputs import batch_inputs, content_hashes, item_record
from semspace.retrieval.runs import file_sha256, load_run, model_info_for, query_device
from semspace.tasks import Task
from semspace.types import DOMAIN, INDEX
from semspace.world.base import WorldDataset

logger = logging.getLogger(__name__)

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


def normalise_source(spec: str | DataSpec) -> str:
    """The canonical string of a data spec: ``root`` absolute and resolved, other arguments sorted by name.

    ``folder:/x``, ``folder:/x/`` and ``folder:x`` (run from ``/``) are one source; so are
    ``world_scenes:n=2,split=test`` and ``world_scenes:split=test,n=2``.
    """
    s = parse_data_spec(spec) if isinstance(spec, str) else spec
    args = dict(sorted(s.args.items()))
    if isinstance(args.get("root"), str | os.PathLike):
        args["root"] = str(Path(os.fspath(args["root"])).expanduser().resolve())
    if list(args) == ["root"] and not any(c in args["root"] for c in ",=\"'"):
        return f"{s.name}:{args['root']}"
    return format_data_spec(DataSpec(name=s.name, args=args))


def build_index(
    run_dir: str | os.PathLike[str],
    data_spec: str | DataSpec,
    out: str | os.PathLike[str],
    *,
    factory: str | None = None,
    domain: str | None = None,
    batch_size: int = 128,
    progress: bool = False,
    device: str = "cpu",
    num_workers: int = 0,
    strict: bool = False,
) -> dict[str, Any]:
    """Syncs the index folder ``out`` (created if needed) with a dataset embedded by a trained run.

    Args:
        run_dir: a trained run folder holding ``model.pt`` (or the checkpoint file itself).
        data_spec: ``"folder:photos/"``, ``"world_scenes:split=test,n=200"`` (see ``data.spec``) or a DataSpec.
        out: the index folder; an existing index is synced (the same model is required).
        factory: faiss factory string (``"Flat"``, ``"IVF256,Flat"``, ``"HNSW32"``); None: ``"Flat"`` for a new
            index, the index's own otherwise. Another factory than an existing index's rebuilds its vectors.
        domain: embed every item as this domain of the task (default: see the module docstring).
        batch_size: items embedded at a time.
        progress: show progress bars.
        device: where to embed (``"cpu"``, ``"cuda"``, ``"auto"``).
        num_workers: DataLoader worker processes.
        strict: an unreadable item is fatal (default: skipped, counted and listed).

    Returns:
        Stats: ``index, data, source, factory, domain, kind, domain_reason, listed, added, updated, removed,
        unchanged, embedded, reused, resumed, unreadable`` (count), ``unreadable_items`` (``[(uri, reason)]``),
        ``rebuilt_from`` (the previous factory, or None), ``saved``, ``total``, ``seconds``.

    Raises:
        CheckpointError: no trained model in ``run_dir``.
        ConfigError: bad spec, unknown dataset or domain, or too few vectors to train the factory.
        DataError: the items hold no input of the domain's kind; ``strict`` and an unreadable item; ``out``
            holds something that is not an index.
        IndexMismatchError: ``out`` holds an index built with another model or other domain records.
    """
    t0 = time.time()
    spec = parse_data_spec(data_spec) if isinstance(data_spec, str) else data_spec
    source_name = normalise_source(spec)
    task, ckpt = load_run(run_dir)
    dev = query_device(device)
    task.to(dev).eval()
    info = model_info_for(ckpt, task)
    source = _gallery(spec)
    if len(source) == 0:
        raise DataError(f"--data {format_data_spec(spec)!r} holds no items")
    target, reason = _choose_domain(task, source, domain, format_data_spec(spec))
    attach_transform(source, target.preprocess if target.kind.is_visual else None)
    index, created = _open_or_create(out, info, factory, task)
    rebuilt_from = None
    if factory is not None and not created and index.manifest.get("factory") != factory:
        rebuilt_from = str(index.manifest.get("factory"))
        index.set_factory(factory)
    new_domain = target.name not in index.store.get_domains()
    index.add_domain(target)
    journal = BuildJournal(index.root, {"checkpoint_sha256": info.checkpoint_sha256, "domain": target.to_dict()})
    if not created:
        index.clean_up(keep_hashes=journal.hashes())  # what a killed build left
    split = str(getattr(source, "split", spec.args.get("split", "")))
    uri_prefix = f"{'world' if isinstance(source, WorldDataset) else 'data'}:{spec.name}/{split}"
    listing = _listing(source, uri_prefix)
    sync = _Sync(index, journal, task, target, source_name, spec.name, dev, strict, check_domains=domain is None)
    sync.plan(listing, deterministic=isinstance(source, WorldDataset))
    sync.hash_files(progress)
    sync.load_and_embed(source, batch_size, num_workers, progress)
    removed = index.remove(sync.removed_ids)
    if sync.touched:
        index.store.update_items(sync.touched)
    changed = created or new_domain or rebuilt_from is not None or bool(removed or sync.touched or sync.written)
    if changed:
        index.add_source(source_name)
        index.save()
    journal.forget_source(source_name, target.name)
    journal.close()
    stats = {
        "index": str(out), "data": format_data_spec(spec), "source": source_name,
        "factory": index.manifest.get("factory"), "domain": target.name, "kind": target.kind.value,
        "domain_reason": reason, "listed": len(listing), "added": sync.added, "updated": sync.updated,
        "removed": removed, "unchanged": sync.unchanged, "embedded": sync.embedded, "reused": sync.reused,
        "resumed": sync.resumed, "unreadable": len(sync.unreadable), "unreadable_items": sync.unreadable,
        "rebuilt_from": rebuilt_from, "saved": changed, "total": len(index), "seconds": round(time.time() - t0, 2),
    }  # fmt: skip
    logger.info("index build: %s", {k: v for k, v in stats.items() if k != "unreadable_items"})
    return stats


class _Sync:
    """The work of one build: what to read, what to embed, what to remove (module docstring)."""

    def __init__(self, index: EmbeddingIndex, journal: BuildJournal, task: Task, target: DomainSpec, source: str,
                 dataset_name: str, device: torch.device, strict: bool, check_domains: bool) -> None:  # fmt: skip
        self.index, self.journal, self.task, self.target = index, journal, task, target
        self.source, self.dataset_name, self.device, self.strict = source, dataset_name, device, strict
        self.check_domains = check_domains  # items naming another domain (unless --domain forces one)
        self.stored = index.store.items_by_uri(target.name, source=source)  # uri -> item (its own, or unsourced)
        self.finished = journal.by_hash(target.name)  # content hash -> vector finished by this or a killed build
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
        gone = [it for it in self.index.store.items_of_source(self.source, self.target.name) if it["uri"] not in listed]
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
        subset = _Tolerant(source, [e.position for e in self.todo])
        loader = DataLoader(subset, batch_size=batch_size, collate_fn=_collate_tolerant, num_workers=num_workers)
        specs = self.task.domains()
        desc = f"embedding {self.dataset_name} as {self.target.name}"
        for batch, errors in tqdm(loader, desc=desc, unit="batch", disable=not progress):
            for position, reason in errors:
                e = entries[position]
                for name in (str(e.path), e.uri):  # the loader's message starts with the file's name
                    reason = reason.removeprefix(f"{name}: ")
                self._unreadable(e.uri, reason)
            if batch is None:
                continue
            if self.check_domains:
                _check_item_domains(batch, specs, self.target)
            self._embed_batch(batch, entries)
            if len(self.items) >= (FLUSH_EVERY if self.index.vectors.is_trained else TRAIN_SAMPLE):
                self._flush()
        self._flush()

    def _embed_batch(self, batch: dict[str, Any], entries: dict[int, Entry]) -> None:
        key, inputs = batch_inputs(batch, self.target, self.dataset_name)
        positions = [int(p) for p in batch[INDEX]]
        known = [self.file_hash.get(p) for p in positions]
        hashes = [k or h for k, h in zip(known, _lazy_hashes(batch, key, self.target, known), strict=True)]
        stored_vecs = self.index.store.get_vectors(self.target.name, hashes)
        finished = self.finished
        rows: list[tuple[int, np.ndarray | None]] = []  # (row in batch, vector or None: to embed)
        for i, (p, h) in enumerate(zip(positions, hashes, strict=True)):
            e, old = entries[p], self.stored.get(entries[p].uri)
            if old is not None and old["content_hash"] == h:
                self._touch(old, e)
                continue
            j = self.journal.lookup(self.target.name, e.uri, e.size, e.mtime_ns)
            vec = stored_vecs.get(h)
            if vec is None and j is not None and j.content_hash == h:
                vec, self.resumed = j.vector, self.resumed + 1
            elif vec is None and h in finished:
                vec, self.resumed = finished[h], self.resumed + 1
            elif vec is not None:
                self.reused += 1
            rows.append((i, vec))
        todo = [i for i, v in rows if v is None]
        fresh: dict[int, np.ndarray] = {}
        if todo:
            chosen = [inputs[i] for i in todo] if isinstance(inputs, list) else inputs[todo].to(self.device)
            with torch.no_grad():
                z = self.task.embed(self.target.name, chosen).float().cpu().numpy()  # (n, D)
            fresh = {i: z[r] for r, i in enumerate(todo)}
            self.finished.update({hashes[i]: fresh[i] for i in todo})
            self.embedded += len(todo)
            self.journal.record([
                JournalEntry(self.target.name, self.source, entries[positions[i]].uri, entries[positions[i]].size,
                             entries[positions[i]].mtime_ns, hashes[i], fresh[i])
                for i in todo
            ])  # fmt: skip
        for i, vec in rows:
            e = entries[positions[i]]
            record = item_record(batch, i, key, hashes[i], self.target, "")  # its uri is the listing's
            record.update(uri=e.uri, source=self.source, size=e.size, mtime_ns=e.mtime_ns)
            self.items.append(record)
            self.vecs.append((vec if vec is not None else fresh[i])[None])  # (1, D)
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


def _lazy_hashes(batch: dict[str, Any], key: str, spec: DomainSpec, known: list[str | None]) -> list[str]:
    """Content hashes of the rows whose file was not hashed already (``content_hashes``); ``""`` for the others."""
    if all(known):
        return [""] * len(known)
    return list(content_hashes(batch, key, spec))


def _listing(source: Any, uri_prefix: str) -> list[Entry]:
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


class _Tolerant(Dataset[dict[str, Any]]):
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


def _collate_tolerant(items: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    errors = [(int(it[INDEX]), str(it[ERROR])) for it in items if ERROR in it]
    good = [it for it in items if ERROR not in it]
    return (collate_dicts(good) if good else None), errors


def _gallery(spec: DataSpec) -> Any:
    try:
        dataset = create_dataset(spec.name, **spec.args)
    except KeyError as exc:  # the registry lists the available names
        raise ConfigError(f"--data {format_data_spec(spec)!r}: {exc.args[0]}") from None
    gallery = getattr(dataset, "gallery", None)
    return gallery() if callable(gallery) else dataset


def _choose_domain(task: Task, source: Any, domain: str | None, name: str) -> tuple[DomainSpec, str]:
    """The domain the items are embedded as, and why (module docstring)."""
    specs = task.domains()
    if domain is not None:
        if domain not in specs:
            raise ConfigError(f"--domain {domain!r}: task {task.name!r} embeds {list(specs)}")
        return specs[domain], "--domain"
    first = _first_readable(source)
    own = first.get(DOMAIN)
    if isinstance(own, str) and own in specs and any(k in first for k in specs[own].kind.batch_keys):
        return specs[own], "the items' own domain"
    fitting = [s for s in specs.values() if any(k in first for k in s.kind.batch_keys)]
    if not fitting:
        raise DataError(
            f"--data {name!r}: its items ({sorted(first)}) hold no input of any domain of task {task.name!r} "
            f"({ {s.name: s.kind.value for s in specs.values()} })"
        )
    exact = [s for s in fitting if s.kind.batch_keys[0] in first]  # a sketch domain for SKETCH items, ...
    chosen = (exact or fitting)[-1]
    others = [s.name for s in fitting if s.name != chosen.name]
    alt = f"; --domain picks another ({', '.join(others)})" if others else ""
    return chosen, f"the task's {chosen.kind.value} domain: the items name none{alt}"


def _first_readable(source: Any, tries: int = 100) -> dict[str, Any]:
    """The first item that reads (an unreadable first file must not decide, or abort, the build)."""
    errors = []
    for pos in range(min(tries, len(source))):
        try:
            return dict(source[pos])
        except DataError as exc:
            errors.append(str(exc))
    raise DataError(f"none of the first {len(errors)} items can be read; the first: {errors[0]}")


def _check_item_domains(batch: dict[str, Any], specs: dict[str, DomainSpec], target: DomainSpec) -> None:
    """Items that name another domain of the task, with another kind or input record, cannot share this build."""
    if not isinstance(batch.get(DOMAIN), list):
        return
    for own in set(batch[DOMAIN]) - {target.name}:
        if own in specs and set(specs[own].differences(target)) - {"name"}:
            raise DataError(
                f"the data mixes domains {target.name!r} and {own!r}, which the task prepares differently; "
                "build each with its own --domain"
            )


def _open_or_create(
    out: str | os.PathLike[str], info: ModelInfo, factory: str | None, task: Task
) -> tuple[EmbeddingIndex, bool]:
    root = Path(out)
    if not (root / "manifest.json").exists():
        index = EmbeddingIndex.create(root, model_info=info, factory=factory or "Flat", dim=info.embed_dim, save=False)
        return index, True
    index = EmbeddingIndex.open(root)
    index.check_model(info, task.domains())
    return index, False
