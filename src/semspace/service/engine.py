"""``ServiceEngine``: the model and index of a service process (loaded once at start-up, then following the index
folder's generations), and the bounded thread pool that embeds and searches off the event loop.

Every call into a searcher or its index runs in the pool under one lock (the model is shared by every generation,
and each index's in-memory SQLite copy by its requests), so a slow query never stalls the event loop: other
requests are accepted, queue for a worker (at most ``max_pending``, then 503) and each waits at most
``request_timeout_s`` (then 504). A request runs on the generation current when it starts (``view()``); the
``IndexFollower`` switches to a rebuilt index between requests. Nothing here writes the index.
"""

from __future__ import annotations

import asyncio
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


class ServiceEngine:
    """The model and index of one service process, the generation it serves and the pool its work runs in (see
    module docstring)."""

    def __init__(self, settings: ServiceSettings, searcher: Searcher | None = None) -> None:
        self.settings = settings
        first = searcher or Searcher(settings.index, run_dir=settings.run_dir, device=settings.device)
        self.follower = IndexFollower(GenerationView(first, settings))
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="semspace-query")
        self.pending = 0  # requests queued or running in the pool (touched on the event loop only)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
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

    # ---- running work off the event loop -------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in the pool under the lock; 503 when too many wait, 504 when it takes too long."""
        if self.pending >= self.settings.max_pending:
            raise ServiceError(503, f"the server is busy ({self.pending} requests waiting); try again in a moment",
                               {"Retry-After": "1"})  # fmt: skip
        self.pending += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self.pool, partial(self._locked, fn, args, kwargs))
            return await asyncio.wait_for(future, timeout=self.settings.request_timeout_s)
        except TimeoutError:
            raise ServiceError(504, f"the query took longer than {self.settings.request_timeout_s:g} s and was "
                                    "abandoned; try a smaller picture or k") from None  # fmt: skip
        finally:
            self.pending -= 1

    def _locked(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self.lock:
            return fn(*args, **kwargs)
