"""``ServiceEngine``: the model and index of a service process (loaded once at start-up, then following the index
folder's generations), and the pools that run its work off the event loop.

**Reads never wait for models.** Three paths, by what a request does:

* *reads answered now* (``/api/health``, ``/api/info``, ``/api/items/{id}``, its thumbnail and image, static files;
  ``read_now``): O(1) lookups of the request's generation, answered on the event loop itself: no pool, no queue,
  no lock. ``info``'s
  counts are computed once per generation, when its view is made (``GenerationView``).
* the **read pool** (``read_workers`` threads; ``read``): gallery pages, whose cost grows with the index, so they
  never stall the event loop; no model lock.
* the **model pool** (``model_workers`` threads, default one per core; ``run``): embedding, search and translation.

While it serves, the interpreter's thread switch interval is ``switch_interval_s`` (1 ms; Python's default is 5 ms):
a model thread running Python code holds the GIL until asked to let go, and the event loop, which answers the
reads, asks (benchmarks/results/service.md measured both).

Both pools are bounded the same way: at most ``max_pending`` requests queued or running (then 503), each waited for
at most ``request_timeout_s`` (then 504). Model work runs concurrently, without a lock, unless ``model_lock`` is set:
the task's modules are in eval mode and called under ``torch.no_grad`` (concurrent forward passes are safe), and a
faiss CPU index answers concurrent searches (benchmarks/results/service.md measured 1, 2 and 4 workers).

**SQLite from several threads.** A generation's item store is one SQLite connection (``ItemStore``: the published
file opened read-only and ``immutable``, or an in-memory copy) made with ``check_same_thread=False``; the requests
of every path read it at once. That is safe when Python's ``sqlite3`` runs SQLite serialized
(``sqlite3.threadsafety == 3``, the default build: the connection's mutex orders the calls, and each ``execute`` has
its own cursor). Where it is not, ``SHARED_SQLITE`` is false and every read and all model work take one lock
(``index_lock``), and the reads answered now go to the read pool. Nothing here writes the index.

A request runs on the generation current when it starts (``view()``); the ``IndexFollower`` switches to a rebuilt
index between requests, and a view keeps its generation leased while a request holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from semspace.index import EmbeddingIndex
from semspace.retrieval import Searcher
from semspace.service.errors import ServiceError
from semspace.service.generation_view import GenerationView
from semspace.service.index_follower import IndexFollower
from semspace.service.settings import ServiceSettings

T = TypeVar("T")
SHARED_SQLITE = sqlite3.threadsafety == 3  # serialized: one connection may be used by several threads at once


def default_model_workers() -> int:
    """One model worker per core this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


class WorkPool:
    """A bounded thread pool for one kind of work (see module docstring).

    Args:
        name: the threads' name (``semspace-<name>``) and the word its 503 uses.
        workers: threads.
        max_pending: requests queued or running before a new one is answered 503.
        timeout_s: the longest a request waits for its answer (then 504; the thread finishes the work).
        lock: taken around each call (None: calls run concurrently).
    """

    def __init__(self, name: str, workers: int, *, max_pending: int, timeout_s: float,
                 lock: threading.Lock | None = None) -> None:  # fmt: skip
        self.name, self.workers, self.max_pending, self.timeout_s = name, workers, max_pending, timeout_s
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"semspace-{name}")
        self.lock = lock
        self.pending = 0  # requests queued or running (touched on the event loop only)
        self.busy = 0  # calls running in a thread now
        self._count = threading.Lock()  # guards ``busy`` (changed by the pool's threads)

    @property
    def waiting(self) -> int:
        """Requests queued for a thread (the queue depth)."""
        return max(0, self.pending - self.busy)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a thread of the pool; 503 when too many wait, 504 when it takes too long."""
        if self.pending >= self.max_pending:
            raise ServiceError(503, f"the server is busy ({self.pending} requests waiting for a {self.name} worker); "
                                    "try again in a moment", {"Retry-After": "1"})  # fmt: skip
        self.pending += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self.executor, partial(self._call, fn, args, kwargs))
            return await asyncio.wait_for(future, timeout=self.timeout_s)
        except TimeoutError:
            raise ServiceError(504, f"the query took longer than {self.timeout_s:g} s and was abandoned; try a "
                                    "smaller picture or k") from None  # fmt: skip
        finally:
            self.pending -= 1

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self._count:
            self.busy += 1
        try:
            with self.lock if self.lock is not None else contextlib.nullcontext():
                return fn(*args, **kwargs)
        finally:
            with self._count:
                self.busy -= 1


class ServiceEngine:
    """The model and index of one service process, the generation it serves and the pools its work runs in (see
    module docstring)."""

    def __init__(self, settings: ServiceSettings, searcher: Searcher | None = None) -> None:
        self.settings = settings
        first = searcher or Searcher(settings.index, run_dir=settings.run_dir, device=settings.device)
        self.follower = IndexFollower(GenerationView(first, settings))
        # one lock for every reader of the store where SQLite is not serialized; else only the optional model lock
        self.index_lock = None if SHARED_SQLITE else threading.Lock()
        model_lock = self.index_lock or (threading.Lock() if settings.model_lock else None)
        pending, timeout = settings.max_pending, settings.request_timeout_s
        self.model = WorkPool("model", settings.model_workers or default_model_workers(), max_pending=pending,
                              timeout_s=timeout, lock=model_lock)  # fmt: skip
        self.reads = WorkPool("read", settings.read_workers, max_pending=pending, timeout_s=timeout,
                              lock=self.index_lock)  # fmt: skip
        self._switch_before = sys.getswitchinterval()
        if settings.switch_interval_s is not None:  # the event loop gets the GIL back sooner from model threads
            sys.setswitchinterval(settings.switch_interval_s)

    def close(self) -> None:
        sys.setswitchinterval(self._switch_before)
        self.model.close()
        self.reads.close()
        self.follower.close()

    # ---- the generation served -------------------------------------------------------------------
    def view(self) -> GenerationView:
        """The generation a request starting now runs on, after at most one look at the folder
        (``IndexFollower.poll``; call it on the event loop, once per request)."""
        self.follower.poll()
        return self.follower.current

    @property
    def searcher(self) -> Searcher:
        """The searcher of the current generation."""
        return self.follower.current.searcher

    @property
    def index(self) -> EmbeddingIndex:
        """The current generation's index."""
        return self.follower.current.index

    # ---- running work ------------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Model work (embedding, search, translation): ``fn(*args, **kwargs)`` in the model pool."""
        return await self.model.run(fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read whose cost grows with the index (a gallery page): in the read pool, never behind model work."""
        return await self.reads.run(fn, *args, **kwargs)

    async def read_now(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """An O(1) read (an item, a thumbnail, info): answered on the event loop, no pool, no queue; in the read pool
        (under ``index_lock``) where SQLite is not serialized."""
        if self.index_lock is not None:
            return await self.reads.run(fn, *args, **kwargs)
        return fn(*args, **kwargs)
