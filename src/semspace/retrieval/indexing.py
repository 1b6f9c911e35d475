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

**One writer at a time.** A build holds the index folder's writer lock (``EmbeddingIndex.writer``) from before it
opens the index until after it saves, so a second build of the same index waits for the first (``wait=False``:
``IndexBusyError`` at once) and then syncs against the first one's result: concurrent builds of two sources end
with the items of both. Searches never take the lock.

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

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from semspace.config import DataSpec
from semspace.data import create_dataset
from semspace.data.domains import DomainSpec
from semspace.data.spec import format_data_spec, parse_data_spec
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError, DataError
from semspace.index import EmbeddingIndex, ModelInfo
from semspace.index.factory_choice import choose_factory
from semspace.index.journal import BuildJournal
from semspace.retrieval.runs import load_run, model_info_for, query_device
from semspace.retrieval.sidecar import read_sidecar
from semspace.retrieval.sync import SourceSync
from semspace.tasks import Task
from semspace.types import DOMAIN
from semspace.world.base import WorldDataset

logger = logging.getLogger(__name__)

AUTO = "auto"  # --factory auto


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
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    fields: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Syncs the index folder ``out`` (created if needed) with a dataset embedded by a trained run.

    Args:
        run_dir: a trained run folder holding ``model.pt`` (or the checkpoint file itself).
        data_spec: ``"folder:photos/"``, ``"world_scenes:split=test,n=200"`` (see ``data.spec``) or a DataSpec.
        out: the index folder; an existing index is synced (the same model is required).
        factory: faiss factory string (``"Flat"``, ``"IVF256,Flat"``, ``"HNSW32"``); ``"auto"``: chosen from the
            gallery's size and the memory budget (``index.factory_choice``; the reason is kept and ``index info``
            shows it; a gallery that outgrows its choice is rebuilt with the next one); None: ``"Flat"`` for a new
            index, the index's own otherwise. Another factory than an existing index's rebuilds its vectors.
        domain: embed every item as this domain of the task (default: see the module docstring).
        batch_size: items embedded at a time.
        progress: show progress bars.
        device: where to embed (``"cpu"``, ``"cuda"``, ``"auto"``).
        num_workers: DataLoader worker processes.
        strict: an unreadable item is fatal (default: skipped, counted and listed).
        wait: when another process writes the index, wait for it (False: ``IndexBusyError`` at once).
        on_wait: told once whom the build waits for (``semspace index build`` prints it).
        workers: embed on Ray with this many actors (``retrieval.ray_embedding``: read and decode in Ray tasks, one
            model per actor); None: here, in this process (Ray is not imported). The index is written here either way.
        ray_address: an existing Ray cluster (``"auto"``, ``"HOST:PORT"``) for ``workers``; None: a local Ray.
        fields: a sidecar file of item fields (``retrieval/sidecar.py``), for filtered searches (``index.fields``);
            the stats then add ``fields_file``, ``fields_changed``, ``fields_unmatched``.

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
    with EmbeddingIndex.writer(out, wait=wait, on_wait=on_wait, create=True):  # from open to save: one writer
        index, created = _open_or_create(out, info, factory, task)
        try:
            with _embedder(workers, ray_address, ckpt, spec, target, batch_size) as on_ray:
                sync, stats = _sync(index, created, source, spec, source_name, task, target, factory, dev, strict,
                                    check_domains=domain is None, batch_size=batch_size, num_workers=num_workers,
                                    progress=progress, on_ray=on_ray, fields=fields)  # fmt: skip
        except BaseException:
            index.discard()  # the unsaved copy of the store goes; the journal keeps what was embedded
            raise
    stats = {
        "index": str(out), "data": format_data_spec(spec), "source": source_name, "factory": index.factory,
        "domain": target.name, "kind": target.kind.value, "domain_reason": reason, **stats, "added": sync.added,
        "updated": sync.updated, "unchanged": sync.unchanged, "embedded": sync.embedded, "reused": sync.reused,
        "resumed": sync.resumed, "unreadable": len(sync.unreadable), "unreadable_items": sync.unreadable,
        "total": len(index), "seconds": round(time.time() - t0, 2),
    }  # fmt: skip
    index.close()
    logger.info("index build: %s", {k: v for k, v in stats.items() if k != "unreadable_items"})
    return stats


@contextlib.contextmanager
def _embedder(workers: int | None, address: str | None, ckpt: Path, spec: DataSpec, target: DomainSpec,
              batch_size: int) -> Iterator[Callable[[list[int]], Iterator[Any]] | None]:  # fmt: skip
    """None (embed here), or ``positions -> RayBatch``es inside a Ray session (``retrieval.ray_embedding``)."""
    if workers is None:
        yield None
        return
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    from semspace.retrieval.ray_embedding import RaySettings, ray_batches, ray_session  # Ray only when asked for

    settings = RaySettings(workers=workers, address=address, batch_size=batch_size)
    started: list[bool] = []
    with contextlib.ExitStack() as session:  # Ray starts only when something needs embedding (not for a no-op)

        def on_ray(positions: list[int]) -> Iterator[Any]:
            if not started:
                session.enter_context(ray_session(settings))
                started.append(True)
            return ray_batches(ckpt.resolve(), spec, target.name, positions, settings)

        yield on_ray


def _sync(index: EmbeddingIndex, created: bool, source: Any, spec: DataSpec, source_name: str, task: Task,
          target: DomainSpec, factory: str | None, dev: torch.device, strict: bool, *, check_domains: bool,
          batch_size: int, num_workers: int, progress: bool,
          on_ray: Callable[[list[int]], Iterator[Any]] | None = None,
          fields: str | os.PathLike[str] | None = None) -> tuple[SourceSync, dict[str, Any]]:  # fmt: skip
    """Brings ``index`` in line with ``source`` (and its items' fields with the sidecar file ``fields``) and saves
    it when anything changed (under the writer lock)."""
    by_path = read_sidecar(fields, getattr(source, "root", None)) if fields is not None else None  # bad file: now
    rebuilt_from = None
    if factory == AUTO:
        choice = choose_factory(max(len(index), len(source)), index.dim)
        if created or choice.factory != index.factory:
            rebuilt_from = None if created else index.factory
            index.set_factory(choice.factory, nprobe=choice.nprobe, reason=choice.reason,
                              train_vectors=choice.train_vectors)  # fmt: skip
    elif factory is not None and not created and index.factory != factory:
        rebuilt_from = index.factory
        index.set_factory(factory)
    new_domain = target.name not in index.domain_names()
    index.add_domain(target)
    journal = BuildJournal(index.root, {"checkpoint_sha256": index.model_info.checkpoint_sha256,
                                        "domain": target.to_dict()})  # fmt: skip
    if not created:
        index.clean_up(keep_hashes=journal.hashes())  # what a killed build left
    split = str(getattr(source, "split", spec.args.get("split", "")))
    uri_prefix = f"{'world' if isinstance(source, WorldDataset) else 'data'}:{spec.name}/{split}"
    sync = SourceSync(index, journal, task, target, source_name, spec.name, dev, strict, check_domains=check_domains)
    for path, reason in getattr(source, "skipped", ()):  # what a folder scan found but never opened (a FIFO, ...)
        sync.skip(str(path), reason)
    sync.run(source, uri_prefix, deterministic=isinstance(source, WorldDataset), batch_size=batch_size,
             num_workers=num_workers, progress=progress, on_ray=on_ray)  # fmt: skip
    removed = index.remove(sync.removed_ids)
    extra: dict[str, Any] = {}
    if by_path is not None:
        changed_n, matched = index.set_fields(by_path, target.name)
        extra = {"fields_file": str(fields), "fields_changed": changed_n, "fields_unmatched": len(by_path) - matched}
    changed = created or new_domain or rebuilt_from is not None or bool(removed or sync.touched_total or sync.written)
    changed = changed or bool(extra.get("fields_changed"))
    if changed:
        index.add_source(source_name)
        index.save()
    journal.forget_source(source_name, target.name)
    journal.close()
    return sync, {"listed": sync.listed, "removed": removed, "rebuilt_from": rebuilt_from, "saved": changed, **extra}


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


def _open_or_create(
    out: str | os.PathLike[str], info: ModelInfo, factory: str | None, task: Task
) -> tuple[EmbeddingIndex, bool]:
    root = Path(out)
    if not (root / "manifest.json").exists():
        first = "Flat" if factory in (None, AUTO) else factory  # auto: chosen by _sync from the source's size
        index = EmbeddingIndex.create(root, model_info=info, factory=first, dim=info.embed_dim, save=False)
        return index, True
    index = EmbeddingIndex.open(root)
    index.check_model(info, task.domains())
    return index, False
