"""The embeddings of an index build on Ray (``semspace index build --workers N``): Ray Data, one model per actor.

``ray_batches(run_dir, spec, domain, positions, settings)`` streams the items at ``positions`` of a data spec
through Ray Data and yields ``RayBatch``es in the order of ``positions``, holding everything an index item needs
(position, vector, content hash, label, caption, path, thumbnail), never the model inputs:

* the positions become a Ray Dataset of one block per batch (``settings.batch_size`` positions each);
* ``map_batches(_load)`` in CPU **tasks**: each task process opens the dataset of the spec once and keeps it
  (``_SOURCES``; the gallery of a composed-retrieval dataset, with the domain's preprocessing attached, as
  ``retrieval.indexing`` does), reads the rows like ``retrieval.sync.Tolerant`` (an unreadable item, a
  ``DataError``, becomes an error row), computes content hashes (``retrieval.inputs.content_hashes``), labels,
  captions and thumbnails (``retrieval.inputs.item_record``) and the model inputs as numpy;
* ``map_batches(_EmbedActor)`` on ``ActorPoolStrategy(size=workers)``: a fixed pool of actors, each loading the
  run once (``retrieval.runs.load_run``) with ``torch.set_num_threads`` sized to its share of the cluster's CPUs,
  embeds the inputs by ``eval.embedding.embed_batch`` (inference mode) and drops them; an actor takes
  ``gpus_per_worker`` GPUs (default: 1 when the cluster has one per actor, an equal share when it has fewer) and
  embeds on ``cuda`` then;
* the driver iterates the result with ``preserve_order``, so a Ray build assigns the same ids as one process.

Resources: the actors ask for at most 1 logical CPU each, and together for at most ``CPU - 1`` of the cluster, so a
loading task always finds a CPU (a local Ray of 2 CPUs with 2 actors of 1 CPU each deadlocks: nothing reads).

**Shared filesystem.** Every node of a cluster (``address="auto"`` or ``"HOST:PORT"``) opens the run folder and the
data at the same paths as the driver, and has semspace installed; a local Ray (``address=None``: started here with
``workers`` CPUs, quiet, no dashboard, shut down after) has that for free. Ray is imported here only, when a build
asks for it, so ``import semspace.retrieval`` does not import it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semspace.config import DataSpec
from semspace.data import create_dataset
from semspace.data.domains import DomainSpec, InputKind
from semspace.data.spec import format_data_spec
from semspace.data.transforms import attach_transform
from semspace.errors import ConfigError, SemspaceError
from semspace.eval.embedding import batch_inputs, embed_batch
from semspace.retrieval.inputs import content_hashes, item_record
from semspace.retrieval.runs import load_run
from semspace.retrieval.sync import Tolerant, collate_tolerant
from semspace.types import DOMAIN, PATH

# columns of the Ray Dataset: one row per position
POSITION, ERROR, INPUT, VECTOR = "position", "error", "input", "vector"
HASH, LABEL, CAPTION, PATH_COL, THUMB, OWN_DOMAIN = "content_hash", "label", "caption", "path", "thumbnail", "domain"

_SOURCES: dict[str, Any] = {}  # (data spec, domain record) -> the opened dataset, once per Ray task process


@dataclass(frozen=True)
class RaySettings:
    """How ``ray_batches`` runs.

    Args:
        workers: embedding actors (and the CPUs of a local Ray started here).
        address: None: a local Ray started here and shut down after; ``"auto"`` or ``"HOST:PORT"``: an existing
            cluster (its nodes see the run and the data at the driver's paths).
        batch_size: items per batch (one loading task, one ``embed`` call).
        gpus_per_worker: GPUs each actor takes; None: 1 when the cluster has a GPU per actor, an equal share of
            them when it has fewer (2 actors on 1 GPU: 0.5 each), 0 without GPUs.
    """

    workers: int
    address: str | None = None
    batch_size: int = 64
    gpus_per_worker: float | None = None  # None: min(1, cluster GPUs / workers)


@dataclass
class RayBatch:
    """The embedded rows of one batch, in the order of the positions asked for, and the rows that failed."""

    positions: list[int]  # dataset positions of the rows
    vectors: np.ndarray  # (B, D) float32: task.embed of the rows (embed_batch)
    content_hashes: list[str]  # retrieval.inputs.content_hashes: file sha256, else the input's hash
    labels: list[str]  # as item_record makes them
    captions: list[str]
    paths: list[str]  # the item's file, or ""
    thumbnails: list[bytes | None]  # PNG bytes (index.thumbnails.thumbnail_png) for pictures, else None
    domains: list[str]  # the domain the item names itself (DOMAIN), or "" (retrieval.sync.check_item_domains)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (position, reason): unreadable items


def ray_batches(
    run_dir: Path,
    spec: DataSpec,
    domain: str,
    positions: Sequence[int],
    settings: RaySettings,
    *,
    progress: bool = False,
) -> Iterator[RayBatch]:
    """The items at ``positions`` of ``spec`` embedded as ``domain`` of the run's task on Ray, batch by batch in
    the order of ``positions`` (module docstring). Ray starts (or is joined) on the first ``next``.

    Args:
        run_dir: a trained run folder (``model.pt``), at the same path on every node.
        spec: the data; the gallery of a composed-retrieval dataset is what is read.
        domain: the task's domain the items are embedded as.
        positions: dataset positions to embed, in the order wanted.
        settings: workers, cluster address, batch size, GPUs per worker.
        progress: Ray Data's progress bars.

    Raises:
        ConfigError: Ray is not installed, an unknown domain, or more GPUs asked for than the cluster has.
        SemspaceError: what a task or an actor raised (a ``DataError`` of items without the domain's input).
    """
    if settings.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {settings.workers}")
    task, _ = load_run(run_dir)
    target = task.domain(domain)
    del task  # the driver embeds nothing
    if not positions:
        return
    with ray_session(settings), _data_context(progress):
        import ray

        ds = _pipeline(ray, Path(run_dir).resolve(), spec, target, positions, settings)
        for block in _raising(ds.iter_batches(batch_size=None, batch_format="numpy")):
            yield _ray_batch(block)


@contextlib.contextmanager
def ray_session(settings: RaySettings) -> Iterator[None]:
    """Ray for the duration: the Ray this process has joined already, else ``settings.address``'s cluster, else a
    local Ray of ``settings.workers`` CPUs; only a Ray started here is shut down after.

    Raises:
        ConfigError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("--workers needs Ray: pip install 'semspace[distributed]'") from None
    if ray.is_initialized():
        yield
        return
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if settings.address is not None:
        ray.init(address=settings.address, **quiet)
    else:
        ray.init(num_cpus=settings.workers, **quiet)
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _data_context(progress: bool) -> Iterator[None]:
    """Ray Data keeps the order of the rows and raises a task's own exception (a ``DataError`` stays one); without
    ``progress`` it neither draws bars nor logs its executions."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    opts = ctx.execution_options
    loggers = [logging.getLogger(name) for name in ("ray.data", "ray.data._internal.progress")]
    saved = (
        opts.preserve_order,
        ctx.enable_progress_bars,
        ctx.raise_original_map_exception,
        [lg.level for lg in loggers],
    )
    opts.preserve_order, ctx.enable_progress_bars, ctx.raise_original_map_exception = True, progress, True
    if not progress:
        loggers[0].setLevel(logging.WARNING)
        loggers[1].setLevel(logging.ERROR)  # "progress bars disabled"
    try:
        with warnings.catch_warnings():  # a chunk smaller than the actor pool is expected, not a user's mistake
            warnings.filterwarnings("ignore", message="The minimum number of concurrent actors", category=UserWarning)
            yield
    finally:
        opts.preserve_order, ctx.enable_progress_bars, ctx.raise_original_map_exception = saved[:3]
        for lg, level in zip(loggers, saved[3], strict=True):
            lg.setLevel(level)


def _pipeline(ray: Any, run_dir: Path, spec: DataSpec, target: DomainSpec, positions: Sequence[int],
              settings: RaySettings) -> Any:  # fmt: skip
    """The Ray Dataset of the embedded rows (module docstring)."""
    resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))
    workers = settings.workers
    per_gpu = settings.gpus_per_worker if settings.gpus_per_worker is not None else min(1.0, gpus / workers)
    if per_gpu * workers > gpus + 1e-6:
        raise ConfigError(f"--workers {workers} with {per_gpu:g} GPU each needs {per_gpu * workers:g} GPUs; "
                          f"the Ray cluster has {gpus:g}")  # fmt: skip
    actor_cpus = max(0.0, min(1.0, (cpus - 1.0) / workers))  # leaves a CPU to the loading tasks
    threads = max(1, int(cpus // workers))
    b = max(1, settings.batch_size)
    order = np.asarray(positions, dtype=np.int64)  # (N,)
    blocks = [{POSITION: order[i : i + b]} for i in range(0, len(order), b)]  # one block per batch
    ds = _from_blocks(ray, blocks)
    ds = ds.map_batches(_load, batch_size=None, batch_format="numpy", fn_kwargs={"spec": spec, "target": target})
    device = "cuda" if per_gpu > 0 else "cpu"
    return ds.map_batches(
        _EmbedActor,
        batch_size=None,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=actor_cpus,
        num_gpus=per_gpu,
        fn_constructor_kwargs={"run_dir": str(run_dir), "domain": target.name, "threads": threads, "device": device},
    )


def _from_blocks(ray: Any, blocks: list[dict[str, np.ndarray]]) -> Any:
    import pyarrow as pa

    return ray.data.from_arrow([pa.table(block) for block in blocks])


def _open_source(spec: DataSpec, target: DomainSpec) -> Any:
    """The dataset of ``spec`` (its gallery, if it has one) with ``target``'s preprocessing, opened once per process."""
    key = f"{format_data_spec(spec)}\0{sorted(target.to_dict().items())}"
    if key not in _SOURCES:
        dataset = create_dataset(spec.name, **spec.args)
        gallery = getattr(dataset, "gallery", None)
        source = gallery() if callable(gallery) else dataset
        _SOURCES[key] = attach_transform(source, target.preprocess if target.kind.is_visual else None)
    return _SOURCES[key]


def _load(block: dict[str, np.ndarray], spec: DataSpec, target: DomainSpec) -> dict[str, np.ndarray]:
    """One block of positions -> its rows: error, hash, label, caption, path, thumbnail, own domain and the model
    input (a failed row: the reason, empty fields and a stand-in input; a block of failures only: no input)."""
    positions = [int(p) for p in block[POSITION]]
    rows = Tolerant(_open_source(spec, target), positions)
    batch, errors = collate_tolerant([rows[i] for i in range(len(rows))])
    failed = dict(errors)  # position -> reason
    cols: dict[str, list[Any]] = {k: [] for k in (ERROR, HASH, LABEL, CAPTION, PATH_COL, THUMB, OWN_DOMAIN)}
    row_of: list[int] = []  # per position: its row of the batch (a failed one: row 0, the stand-in)
    key, inputs, hashes = "", None, []
    if batch is not None:
        key, inputs = batch_inputs(batch, target, spec.name)
        hashes = list(content_hashes(batch, key, target))
    i = 0
    for p in positions:
        if p in failed:
            row = {ERROR: failed[p], HASH: "", LABEL: "", CAPTION: "", PATH_COL: "", THUMB: b"", OWN_DOMAIN: ""}
            row_of.append(0)
        else:
            assert batch is not None
            record = item_record(batch, i, key, hashes[i], target, "")
            row = {ERROR: "", HASH: hashes[i], LABEL: record["label"], CAPTION: record["caption"],
                   PATH_COL: str(batch[PATH][i] or "") if PATH in batch else "", THUMB: record["thumbnail"] or b"",
                   OWN_DOMAIN: str(batch[DOMAIN][i]) if isinstance(batch.get(DOMAIN), list) else ""}  # fmt: skip
            row_of.append(i)
            i += 1
        for k, v in row.items():
            cols[k].append(v)
    result = {
        POSITION: np.asarray(positions, dtype=np.int64),
        **{k: np.asarray(v, dtype=object) for k, v in cols.items()},
    }
    if inputs is not None and target.kind is InputKind.TEXT:
        result[INPUT] = np.asarray([inputs[r] for r in row_of], dtype=object)  # (B,) str
    elif inputs is not None:
        result[INPUT] = torch.as_tensor(inputs)[row_of].numpy()  # (B, ...) as collated: (B, C, H, W), (B, F)
    return result


class _EmbedActor:
    """One model per actor: ``task.embed`` of a block's good rows, the inputs dropped, ``VECTOR (B, D)`` added."""

    def __init__(self, run_dir: str, domain: str, threads: int, device: str) -> None:
        torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.task, _ = load_run(run_dir, self.device)
        self.target = self.task.domain(domain)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: v for k, v in block.items() if k != INPUT}
        good = [i for i, e in enumerate(block[ERROR]) if not e]
        vectors = np.zeros((len(block[POSITION]), int(self.target.embed_dim)), dtype=np.float32)  # (B, D)
        if good:
            raw = block[INPUT]
            inputs = [str(t) for t in raw] if self.target.kind is InputKind.TEXT else torch.from_numpy(raw)
            z = embed_batch(self.task, {INPUT: inputs}, self.target, device=self.device, rows=good, key=INPUT)
            vectors[good] = z.float().cpu().numpy()  # (len(good), D)
        out[VECTOR] = vectors
        return out


def _ray_batch(block: dict[str, np.ndarray]) -> RayBatch:
    good = [i for i, e in enumerate(block[ERROR]) if not e]
    col = {k: [block[k][i] for i in good] for k in (HASH, LABEL, CAPTION, PATH_COL, THUMB, OWN_DOMAIN)}
    return RayBatch(
        positions=[int(block[POSITION][i]) for i in good],
        vectors=np.ascontiguousarray(block[VECTOR][good], dtype=np.float32),  # (B, D)
        content_hashes=[str(v) for v in col[HASH]],
        labels=[str(v) for v in col[LABEL]],
        captions=[str(v) for v in col[CAPTION]],
        paths=[str(v) for v in col[PATH_COL]],
        thumbnails=[bytes(v) or None for v in col[THUMB]],
        domains=[str(v) for v in col[OWN_DOMAIN]],
        errors=[(int(block[POSITION][i]), str(e)) for i, e in enumerate(block[ERROR]) if e],
    )


def _raising(batches: Iterator[Any]) -> Iterator[Any]:
    """Ray's batches; a ``SemspaceError`` raised in a task or an actor comes out as itself (one clear line)."""
    try:
        yield from batches
    except Exception as exc:
        cause: BaseException | None = exc
        seen: set[int] = set()
        while cause is not None and not _is_own(cause) and id(cause) not in seen:
            seen.add(id(cause))
            inner = getattr(cause, "cause", None)  # a RayTaskError's
            cause = inner if isinstance(inner, BaseException) else cause.__cause__
        if cause is None or not _is_own(cause):
            raise
        message = str(cause).split("\nFailed to apply UDF")[0]  # Ray Data appends its retry advice to the message
        raise type(cause)(message) from None


def _is_own(exc: BaseException) -> bool:
    """A semspace error as raised, not Ray's wrapper posing as one (``RayTaskError(DataError)``)."""
    return isinstance(exc, SemspaceError) and type(exc).__module__.startswith("semspace.")
