"""Generation bookkeeping of an index folder: open the current one, write the next one, clean up the rest.

``EmbeddingIndex`` is the face; these functions own the files (``index.layout`` names them). A generation is
written whole into a new ``gen-NNNNNN/`` folder (vectors, items, then its lease file, each fsynced), and becomes
current when ``manifest.json`` is replaced (one rename). Opening reads the manifest, leases the generation it names
and reads it; if a writer switched and cleaned up in between, it reads the manifest again. Clean-up, under the
writer lock, deletes the generations no process reads, a dead writer's temporary files, the flat layout of formats
1-2, and thumbnails no generation in use refers to.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semspace.errors import DataError
from semspace.index.exact import ExactIndex
from semspace.index.faiss_index import FaissIndex
from semspace.index.ivf_ondisk import OnDiskIVF, is_ivf
from semspace.index.journal import JOURNAL_NAME, BuildJournal
from semspace.index.layout import (
    BUILD_HINT,
    FILES,
    GENERATION,
    ITEMS,
    LEASE,
    LOCK,
    MANIFEST,
    GenerationLease,
    leased_generations,
    next_generation,
    read_manifest,
    try_retire,
    write_lease_file,
)  # fmt: skip
from semspace.index.store import ItemStore
from semspace.index.store_files import STAGING, remove_dead_staging
from semspace.index.thumbnails import Thumbnails
from semspace.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

VectorIndex = FaissIndex | ExactIndex | OnDiskIVF
OPEN_TRIES = 20  # a reader that loses the race with a clean-up reads the manifest again, at most this often


@dataclass
class Generation:
    """One generation read into memory (the flat layout of formats 1-2 is ``name == ""``, unleased)."""

    vectors: VectorIndex
    store: ItemStore
    manifest: dict[str, Any]
    lease: GenerationLease | None
    name: str


def on_disk_generation(root: Path) -> str | None:
    """What the folder holds now: None (no index), ``""`` (the flat layout of formats 1-2) or the generation."""
    try:
        return str(read_manifest(root).get("generation") or "")
    except DataError:
        return None if not (root / MANIFEST).exists() else "?"


def check_new_folder(path: Path) -> None:
    """``path`` may receive a new index: missing, empty, or holding only what an unfinished first build left.

    Raises:
        DataError: it holds an index, is a file, or holds other files (nothing is overwritten).
    """
    if (path / MANIFEST).exists():
        raise DataError(f"{path} already holds an index; open it with EmbeddingIndex.open or choose another folder")
    if path.exists() and not path.is_dir():
        raise DataError(f"{path} is a file, not an index folder; choose another --out")
    leftovers = ("thumbs", JOURNAL_NAME, LOCK)  # what an unfinished first build leaves: it resumes
    if path.is_dir():
        remove_dead_staging(path)
    others = sorted(p.name for p in path.iterdir() if p.name not in leftovers and not STAGING.match(p.name)) \
        if path.is_dir() else []  # fmt: skip
    if others:
        damaged = any(GENERATION.match(n) or n in (ITEMS, *FILES.values()) for n in others)
        what = "index files but no manifest.json (a damaged index?)" if damaged else "files that are not an index"
        raise DataError(
            f"{path} holds {what}: {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}; it is not "
            "overwritten. Choose another --out, or move the folder away first"
        )


def open_current(path: Path) -> Generation:
    """The current generation of ``path``, leased (module docstring).

    Raises:
        DataError: the folder or one of its files is missing or unreadable, or the files disagree.
    """
    hint = BUILD_HINT.format(root=path)
    if not path.is_dir():
        raise DataError(f"index folder {path} does not exist; {hint}")
    if not (path / MANIFEST).is_file():
        unfinished = " (an unfinished first build: run it again to resume)" if BuildJournal.exists(path) else ""
        raise DataError(f"{path} is not an index folder (no manifest.json){unfinished}; {hint}")
    for _ in range(OPEN_TRIES):
        manifest = read_manifest(path)
        try:
            return _load(path, manifest)
        except (DataError, OSError):
            if on_disk_generation(path) == str(manifest.get("generation") or ""):
                raise  # not a race with a writer's switch: the files are damaged
    raise DataError(f"index folder {path} changed {OPEN_TRIES} times while it was being opened; try again")


def _load(path: Path, manifest: dict[str, Any]) -> Generation:
    manifest_path, hint = path / MANIFEST, BUILD_HINT.format(root=path)
    backend = manifest.get("backend", "faiss")
    if backend not in FILES:
        raise DataError(f"{manifest_path}: unknown backend {backend!r}; expected one of {sorted(FILES)}")
    gen = str(manifest.get("generation") or "")
    files = path / gen if gen else path
    lease = None
    if gen and (files / LEASE).is_file():
        lease = GenerationLease(files)  # a generation written before leases has none: read unleased
    for name in (FILES[backend], ITEMS):
        if not (files / name).is_file():
            raise DataError(f"index folder {path} lacks {(files / name).relative_to(path)}; {hint}")
    factory, nprobe = str(manifest.get("factory", "Flat")), int(manifest.get("nprobe", 16))
    vectors: VectorIndex
    if backend == "faiss" and is_ivf(factory):  # lists on disk, changed through a delta (index.ivf_ondisk)
        vectors = OnDiskIVF.open(files, files / FILES[backend], factory, nprobe=nprobe, staging=path)
    elif backend == "faiss":
        vectors = FaissIndex.load(files / FILES[backend], factory, nprobe=nprobe, mapped=True)  # read in on change
    else:
        vectors = ExactIndex.load(files / FILES[backend])
    store = ItemStore.open(files / ITEMS, staging=path)  # read in place; copied only when changed
    if store.get_model() is None:
        raise DataError(f"{files / ITEMS} has no model record; {hint}")
    counts = {MANIFEST: manifest.get("ntotal"), FILES[backend]: vectors.ntotal, ITEMS: store.count()}
    if len(set(counts.values())) != 1:
        raise DataError(
            f"index folder {path} is inconsistent ({', '.join(f'{k}: {v}' for k, v in counts.items())} items), "
            f"probably an interrupted save; rebuild it ({hint})"
        )
    _recover_embeddings(path, vectors, store)
    return Generation(vectors, store, manifest, lease, gen)


def _recover_embeddings(path: Path, vectors: VectorIndex, store: ItemStore) -> None:
    """Indexes written before the ``vectors`` table (schema 5) get their embeddings back from faiss."""
    missing = store.missing_vectors()
    if not missing:
        return
    vecs = vectors.reconstruct([i for i, _, _ in missing])  # (M, D), normalised: the same cosine
    for dom in {d for _, d, _ in missing}:
        rows = [r for r, (_, d, _) in enumerate(missing) if d == dom]
        store.put_vectors(dom, [missing[r][2] for r in rows], vecs[rows])
    logger.info("%s: read %d embeddings back from the vector index (an index from before schema 5)",
                path, len(missing))  # fmt: skip


def new_vectors(root: Path, backend: str, dim: int, factory: str, nprobe: int) -> VectorIndex:
    """An empty vector index of an index folder: IVF lists on disk (``index.ivf_ondisk``), other faiss factories in
    memory, or the exact backend."""
    if backend != "faiss":
        return ExactIndex(dim)
    if is_ivf(factory):
        FaissIndex(dim, factory)  # validates the factory string now
        return OnDiskIVF(dim, factory, nprobe=nprobe, staging=root)
    return FaissIndex(dim, factory, nprobe=nprobe)


def write_generation(root: Path, vectors: VectorIndex, store: ItemStore, manifest: dict[str, Any]) -> Generation:
    """Writes the next generation and switches to it (call under the writer lock); returns it, leased.

    ``manifest`` is the new manifest, still naming the generation it replaces (the current one: ``save`` checked);
    its ``generation`` is set here. A failure before the switch removes the new folder and leaves the previous
    generation current.
    """
    gen = next_generation(root, manifest)
    files = root / gen
    backend = manifest["backend"]
    manifest = {**manifest, "generation": gen}
    try:
        files.mkdir(parents=True)
        vectors.write(files / FILES[backend])
        store.publish(files / ITEMS)  # a staging file is renamed in (``index.store_files``)
        for name in (FILES[backend], ITEMS):
            _fsync(files / name)
        write_lease_file(files)
        atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")  # the switch
    except BaseException:
        store.unpublish()  # the staging file moves back out: the store is still this writer's
        shutil.rmtree(files, ignore_errors=True)  # the previous generation stays current
        raise
    return Generation(vectors, store, manifest, GenerationLease(files), gen)


def clean_up_folder(root: Path, current: str, store: ItemStore, keep_hashes: Iterable[str] = ()) -> dict[str, int]:
    """Deletes what no generation in use needs (module docstring; call under the writer lock)."""
    removed = {"generations": 0, "files": 0, "thumbnails": 0}
    for p in root.iterdir():
        if GENERATION.match(p.name) and p.name != current and p.is_dir():
            removed["generations"] += int(try_retire(p))
        elif p.is_file() and (p.name in (ITEMS, *FILES.values()) or ".tmp." in p.name):
            p.unlink(missing_ok=True)  # the flat layout of formats 1-2, or a killed writer's atomic write
            removed["files"] += 1
    removed["files"] += remove_dead_staging(root)  # a killed writer's store copy
    keep = store.content_hashes() | set(keep_hashes)
    for folder in leased_generations(root, current):
        keep |= ItemStore.hashes_in(folder / ITEMS)
    removed["thumbnails"] = Thumbnails(root).prune(keep, store)
    return removed


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
