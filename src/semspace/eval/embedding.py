"""The one embedding loop: a dataset seen as one domain of a task -> its embeddings, batch by batch.

Every evaluation protocol and the index build embed data the same way: the dataset gets the preprocessing of the
domain's record (``DomainSpec.preprocess`` attached as its transform, ``data.transforms.attach_transform``), a
``DataLoader`` batches it (``collate_dicts`` unless the caller brings its own collate), each batch's inputs are
found by the domain's input kind (``batch_inputs``: ``IMAGE`` for an image domain, ``SKETCH`` or ``IMAGE`` for a
sketch domain, ``TEXT``, ``FEATURES``) and ``task.embed(domain, inputs)`` makes them ``(B, D)`` embeddings under
``torch.inference_mode``, the task in eval mode (``inference``), CPU image batches in channels_last and a loaded
run's image encoders on their fast path (``models.inference_fast``: micro-batches, ``torch.compile`` for a large
job; ``SEMSPACE_FAST_INFERENCE=off`` turns it off). Two levels:

* ``iter_embeddings`` yields ``(batch, embeddings (B, D))`` as it goes, on the task's device: the caller composes
  (composed retrieval), or hashes and stores (the index build, with a tolerant collate and ``rows``: only the rows
  of a batch whose content it does not hold yet);
* ``embed_dataset`` returns an ``Embedded``: every item's embedding ``(N, D)`` float32 on the CPU in dataset order,
  with the per-item fields the caller keeps (``LABEL``, ``KEY``, ``TARGET_LABEL``, ...).

``forward_dataset`` is the same loop through ``task.eval_forward`` for paired data whose items hold every domain
under the task's own batch keys (paired retrieval, cross-modal MAP); ``iter_batches`` is the loop without a model
(the translation protocol reads its images with it). Data loading never runs in inference mode; embeddings come out
as inference tensors, so protocols use them under ``torch.no_grad`` (as they do) or clone them before autograd.

Sharded: when ``torch.distributed`` is initialised with more than one process (the evaluations of a ``torchrun``
training), ``embed_dataset`` and ``forward_dataset`` read and embed only this rank's contiguous share of the items
(rank r of W: ``[N r / W, N (r + 1) / W)``) and gather every share, so each rank returns the whole dataset's
``(N, D)`` and fields in dataset order, as one process does. Every rank must call them (they are collectives);
only rank 0 shows the progress bar.
"""

from __future__ import annotations

import contextlib
import contextvars
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from semspace.data.collate import collate_dicts
from semspace.data.domains import DomainSpec, InputKind
from semspace.data.preprocess import PreprocessCfg
from semspace.data.transforms import attach_transform
from semspace.errors import DataError
from semspace.models.inference_fast import image_batch

Rows = Callable[[dict[str, Any]], Sequence[int]]  # batch -> the rows of it to embed, in the order wanted
_BARS: contextvars.ContextVar[bool] = contextvars.ContextVar("semspace_embedding_bars", default=False)


@contextlib.contextmanager
def progress_bars(on: bool = True) -> Iterator[None]:
    """Within it, the loops here called without ``progress`` show their bars: a caller that runs a protocol
    (``semspace eval``, the final evaluation of ``semspace train``) turns them on without the protocols passing a flag.
    """
    token = _BARS.set(on)
    try:
        yield
    finally:
        _BARS.reset(token)


@dataclass
class Embedded:
    """A dataset's embeddings and the fields of its items that the caller kept."""

    embeddings: torch.Tensor  # (N, D) float32 on the CPU, in dataset order
    fields: dict[str, Any]  # kept batch key -> (N, ...) tensor, or a list of N values (strings); absent keys left out

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]


def batch_inputs(batch: dict[str, Any], spec: DomainSpec, source: str) -> tuple[str, Any]:
    """``(key, inputs)``: where a collated dataset batch holds ``spec``'s inputs, and those inputs.

    Raises:
        DataError: the batch has none of the keys of the kind (names the dataset and what was expected).
    """
    for key in spec.kind.batch_keys:
        if key in batch:
            value = batch[key]
            if spec.kind is InputKind.TEXT:
                value = [str(t) for t in value]
            return key, value
    raise DataError(
        f"dataset {source!r} items have none of {list(spec.kind.batch_keys)}, so they cannot be embedded as domain "
        f"{spec.name!r} ({spec.kind}); they have {sorted(batch)}. Pick another domain of the task (index build: "
        "--domain)"
    )


def iter_batches(
    dataset: Any,
    preprocess: PreprocessCfg | None,
    *,
    batch_size: int,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    progress: bool | None = None,
    desc: str | None = None,
) -> Iterator[Any]:
    """The collated batches of ``dataset`` read with ``preprocess`` (attached unless it has a transform already).

    A dataset held in memory (``in_memory``, ``data.cache.CachedDataset``) is read without worker processes. The
    progress bar (tqdm, on stderr, counting batches) shows with ``progress`` (None: inside ``progress_bars()``).
    """
    attach_transform(dataset, preprocess)
    workers = 0 if getattr(dataset, "in_memory", False) else num_workers
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_fn or collate_dicts)
    show = _BARS.get() if progress is None else progress
    yield from tqdm(loader, desc=desc or "reading", unit="batch", disable=not show)


def embed_batch(
    task: Any,
    batch: dict[str, Any],
    domain: DomainSpec,
    *,
    device: torch.device | str,
    rows: Sequence[int] | None = None,
    key: str | None = None,
    source: str = "",
) -> torch.Tensor:
    """``task.embed(domain.name, inputs)`` of one collated batch, in inference mode: ``(B, D)`` on the task's
    device, or ``(len(rows), D)`` for the chosen rows only (``(0, D)`` without calling the task when none).

    Args:
        key: the batch key holding the inputs (default: the first key of the domain's kind the batch has).
        source: the data's name in the error of a batch without such a key.
    """
    inputs = batch[key] if key is not None else batch_inputs(batch, domain, source)[1]
    if rows is not None:
        rows = list(rows)
        if not rows:
            return torch.empty(0, int(domain.embed_dim), device=device)  # (0, D)
        inputs = [inputs[i] for i in rows] if isinstance(inputs, list) else inputs[rows]
    if isinstance(inputs, torch.Tensor):
        inputs = image_batch(inputs.to(device))  # CPU image batches in channels_last (models.inference_fast)
    with inference(task):
        return task.embed(domain.name, inputs)  # (B, D)


@contextlib.contextmanager
def inference(task: Any) -> Iterator[None]:
    """``torch.inference_mode`` with ``task`` in eval mode (dropout off, batch-norm on its running statistics): a
    task found in training mode is put in eval mode for the block and back in training mode after it, so an
    embedding never depends on the mode its caller left the task in."""
    was_training = bool(getattr(task, "training", False))
    if was_training:
        task.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        if was_training:
            task.train()


def iter_embeddings(
    task: Any,
    dataset: Any,
    domain: DomainSpec,
    *,
    batch_size: int,
    device: torch.device | str,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    rows: Rows | None = None,
    key: str | None = None,
    progress: bool | None = None,
    desc: str | None = None,
    source: str = "",
) -> Iterator[tuple[Any, torch.Tensor]]:
    """``(collated batch, embeddings (B, D) on device)`` for every batch of ``dataset`` embedded as ``domain``.

    Args:
        task: anything with ``embed(domain_name, inputs) -> (B, D)`` (a ``Task``).
        dataset: a map-style dataset of dict items; it gets ``domain.preprocess`` unless it has a transform.
        domain: the domain's record (``task.domain(name)``).
        batch_size: items per batch.
        device: where the inputs go (the task's device).
        num_workers: DataLoader worker processes.
        collate_fn: default ``collate_dicts``. It may return a batch dict, or a tuple whose first element is the
            batch dict or None (the rest is the caller's: a tolerant collate's ``(batch, errors)``); the tuple is
            yielded as it is, and a None batch comes with ``(0, D)`` embeddings.
        rows: ``batch -> rows to embed``; the embeddings are then ``(len(rows), D)``, in that order (the index
            build leaves out content it holds already). Default: every row.
        key: the batch key holding the inputs (default: found by the domain's kind, ``batch_inputs``).
        progress: show a progress bar; ``desc`` its label (default ``"embedding as DOMAIN"``).
        source: the data's name in errors (default: the dataset's class name).

    Raises:
        DataError: the items hold no input of the domain's kind.
    """
    desc = desc or f"embedding as {domain.name}"
    name = source or type(dataset).__name__
    loop = iter_batches(dataset, domain.preprocess, batch_size=batch_size, num_workers=num_workers,
                        collate_fn=collate_fn, progress=progress, desc=desc)  # fmt: skip
    for collated in loop:
        batch = collated[0] if isinstance(collated, tuple) else collated
        if batch is None:
            yield collated, torch.empty(0, int(domain.embed_dim), device=device)  # (0, D)
            continue
        chosen = None if rows is None else rows(batch)
        yield collated, embed_batch(task, batch, domain, device=device, rows=chosen, key=key, source=name)


def gather(pairs: Iterable[tuple[dict[str, Any], torch.Tensor]], keep: Sequence[str] = ()) -> Embedded:
    """Concatenates ``(batch, embeddings (B, D))`` pairs into an ``Embedded`` (float32, CPU) with the ``keep``
    fields of the batches.

    Raises:
        DataError: there was no batch (an empty dataset).
    """
    zs: list[torch.Tensor] = []
    parts: dict[str, list[Any]] = {k: [] for k in keep}
    for batch, z in pairs:
        zs.append(z.float().cpu())  # (B, D)
        _keep(parts, batch)
    if not zs:
        raise DataError("nothing to embed: the dataset holds no items")
    return Embedded(torch.cat(zs), _concat(parts))  # (N, D)


def embed_dataset(
    task: Any,
    dataset: Any,
    domain: DomainSpec,
    *,
    batch_size: int,
    device: torch.device | str,
    keep: Sequence[str] = (),
    num_workers: int = 0,
    key: str | None = None,
    progress: bool | None = None,
    desc: str | None = None,
    source: str = "",
) -> Embedded:
    """Every item of ``dataset`` embedded as ``domain``: ``embeddings (N, D)`` float32 on the CPU in dataset order,
    and ``fields[k]`` for each ``k`` of ``keep`` the items have (``(N,)`` tensors, or lists of N strings).

    Arguments as ``iter_embeddings``. Under ``torch.distributed`` each rank embeds its share (module docstring).
    """
    world, rank = _world()
    if world == 1:
        pairs = iter_embeddings(task, dataset, domain, batch_size=batch_size, device=device, num_workers=num_workers,
                                key=key, progress=progress, desc=desc, source=source)  # fmt: skip
        return gather(pairs, keep)
    if len(dataset) == 0:
        raise DataError("nothing to embed: the dataset holds no items")
    share = _share(dataset, domain.preprocess, world, rank)

    def embed_share() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        if not len(share):
            return {}, {}  # a rank without items
        pairs = iter_embeddings(task, share, domain, batch_size=batch_size, device=device, num_workers=num_workers,
                                key=key, progress=progress if rank == 0 else False, desc=desc,
                                source=source or type(dataset).__name__)  # fmt: skip
        local = gather(pairs, keep)
        return {"": local.embeddings}, local.fields

    zs, fields = _all_gather(embed_share)
    return Embedded(zs[""], fields)  # (N, D)


def forward_dataset(
    task: Any,
    dataset: Any,
    preprocess: PreprocessCfg | None,
    *,
    batch_size: int,
    device: torch.device | str,
    keep: Sequence[str] = (),
    progress: bool | None = None,
    desc: str | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Paired data through ``task.eval_forward(task.prepare_batch(batch, device))`` in inference mode, each domain
    read from the task's own batch keys: ``({domain: (N, D) float32 on the CPU}, kept fields)`` (``Embedded``).
    Under ``torch.distributed`` each rank embeds its share (module docstring)."""
    world, rank = _world()
    if world == 1:
        return _forward(task, dataset, preprocess, batch_size, device, keep, progress, desc)
    share = _share(dataset, preprocess, world, rank)
    bar = progress if rank == 0 else False
    return _all_gather(lambda: _forward(task, share, preprocess, batch_size, device, keep, bar, desc))


def _forward(
    task: Any,
    dataset: Any,
    preprocess: PreprocessCfg | None,
    batch_size: int,
    device: torch.device | str,
    keep: Sequence[str],
    progress: bool | None,
    desc: str | None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``forward_dataset`` in this process, over every item of ``dataset``."""
    zs: dict[str, list[torch.Tensor]] = {}
    parts: dict[str, list[Any]] = {k: [] for k in keep}
    batches = iter_batches(dataset, preprocess, batch_size=batch_size, progress=progress, desc=desc or "embedding")
    for batch in batches:
        with inference(task):
            out = task.eval_forward(task.prepare_batch(batch, device))  # {domain: (B, D)}
        for name, z in out.items():
            zs.setdefault(name, []).append(z.float().cpu())  # (B, D)
        _keep(parts, batch)
    return {name: torch.cat(z) for name, z in zs.items()}, _concat(parts)  # {domain: (N, D)}


def _keep(parts: dict[str, list[Any]], batch: dict[str, Any]) -> None:
    for k, chunks in parts.items():
        if k in batch:
            chunks.append(batch[k])


def _concat(parts: dict[str, list[Any]]) -> dict[str, Any]:
    """Per key: the batches' ``(B, ...)`` tensors as one ``(N, ...)``, or their lists as one list."""
    out: dict[str, Any] = {}
    for k, chunks in parts.items():
        if chunks:
            out[k] = torch.cat(chunks) if isinstance(chunks[0], torch.Tensor) else [v for c in chunks for v in c]
    return out


class _Share(Dataset):
    """Items ``[lo, hi)`` of a dataset, as a dataset (this rank's share; ``in_memory`` passed on)."""

    def __init__(self, dataset: Any, lo: int, hi: int) -> None:
        self.dataset, self.lo, self.hi = dataset, lo, hi
        self.in_memory = bool(getattr(dataset, "in_memory", False))

    def __len__(self) -> int:
        return self.hi - self.lo

    def __getitem__(self, i: int) -> Any:
        return self.dataset[self.lo + i]


def _world() -> tuple[int, int]:
    """(world size, rank) of the initialised process group, else (1, 0)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _share(dataset: Any, preprocess: PreprocessCfg | None, world: int, rank: int) -> _Share:
    """Rank ``rank``'s contiguous share of ``dataset``, which gets ``preprocess`` first (as ``iter_batches`` would)."""
    attach_transform(dataset, preprocess)
    n = len(dataset)
    return _Share(dataset, n * rank // world, n * (rank + 1) // world)


Share = tuple[dict[str, torch.Tensor], dict[str, Any]]  # ({name: (n_r, D)}, kept fields) of one rank's items


def _all_gather(compute: Callable[[], Share]) -> Share:
    """Every rank's ``compute()`` joined in rank order: ``({name: (N, D)}, fields)`` on every rank. An error on any
    rank is raised on every rank (none waits for a share that never comes)."""
    error: Exception | None = None
    try:
        mine: Any = _to_cpu(compute())
    except Exception as exc:  # handed to every rank below, as itself when it pickles
        error = exc
        mine = exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}")
    shares: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(shares, mine)
    if error is not None:
        raise error
    for share in shares:
        if isinstance(share, Exception):
            raise share
    names = dict.fromkeys(k for zs, _ in shares for k in zs)
    out = {k: torch.cat([zs[k] for zs, _ in shares if k in zs]) for k in names}  # (N, D)
    parts: dict[str, list[Any]] = {}
    for _, fields in shares:
        for k, v in fields.items():
            parts.setdefault(k, []).append(v)
    return out, _concat(parts)


def _to_cpu(share: Share) -> Share:
    return {k: z.cpu() for k, z in share[0].items()}, share[1]


def _picklable(obj: Any) -> bool:
    try:
        pickle.loads(pickle.dumps(obj))
    except Exception:
        return False
    return True
