"""``IndexFollower``: keeps a running service on its index folder's current generation (docs/service.md).

**When it looks.** Each request asks (``poll``, on the event loop, as the request starts); at most once every
``every_s`` (1 s, by a monotonic clock) that costs one ``stat`` of the manifest (``EmbeddingIndex.changed_on_disk``),
otherwise nothing. The check rides on the requests rather than on a timer task: an idle service does no work at
all, nothing has to be started and cancelled with the app (or with each test client), and a request is what needs
the current generation (a health probe is a request too, so a probed idle service follows as well).
``POST /api/reload`` (``reload``) looks at once and answers when the switch is done.

**How it switches.** A change reopens the index (``GenerationView.reopened``: the folder's current generation with
the already loaded model, checked against it) in the follower's own thread, never on the event loop nor in the
query pool, so requests go on, on the old generation, while the new one loads; then ``current`` is replaced (one
assignment). A request keeps the view it started with until it ends, so in-flight requests finish on the old
generation; the old view goes with the last of them, and its lease with it (garbage collection: nothing closes it
while a request may still read it), so a writer's next clean-up may delete that generation and the thumbnails
only it used.

**When it cannot.** A failed reopen (the folder half-removed, a rebuild with another model, a damaged file) leaves
the old generation serving; one warning is logged (again only when the reason changes), ``error`` says why
(``/api/info``: ``index.reload_error``), and each further try waits twice as long as the last (up to
``MAX_BACKOFF_S``), so a large mismatched index is not read every second; ``POST /api/reload`` tries at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from semspace.service.errors import ServiceError
from semspace.service.generation_view import GenerationView

logger = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0  # the longest wait between two tries to open an index that could not be served


class IndexFollower:
    """The generation a service serves now (``current``) and the switch to a newer one (see module docstring).

    Args:
        current: the view loaded at start-up.
        every_s: the least time between two looks at the folder.
        clock: a monotonic clock (seconds).
    """

    def __init__(self, current: GenerationView, *, every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.current = current
        self.error: str | None = None  # why the folder's newer generation is not served (None: it is, or none)
        self.every_s, self._clock = every_s, clock
        self._wait = every_s  # between two looks; doubled after each failed reopen
        self._next = clock() + every_s
        self._reopening: Future[str | None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="semspace-reload")  # one reopen at a time

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    def poll(self) -> None:
        """At most once every ``every_s``: one look at the folder; a change starts a reopen in the follower's thread
        (the caller does not wait for it). Call it on the event loop."""
        now = self._clock()
        if now < self._next or (self._reopening is not None and not self._reopening.done()):
            return
        self._next = now + self._wait
        if self.current.index.changed_on_disk():
            self._reopening = self._thread.submit(self._switch)

    async def reload(self) -> tuple[str, str]:
        """Looks now and, when the folder changed, switches to its generation before returning; returns the
        generations served before and after.

        Raises:
            ServiceError: 409 when the folder changed but cannot be served (the old generation still is).
        """
        before = self.current.generation
        error = await asyncio.get_running_loop().run_in_executor(self._thread, self._switch)
        if error is not None:
            raise ServiceError(409, f"the index folder {self.current.index.root} changed but cannot be served "
                                    f"({error}); still serving {before or 'the flat layout'}")  # fmt: skip
        return before, self.current.generation

    def _switch(self) -> str | None:
        """(In the follower's thread.) Reopens the index when its folder changed; returns why it could not, or None."""
        old = self.current
        if not old.index.changed_on_disk():
            self.error, self._wait = None, self.every_s  # what is on disk is what is served
            return None
        try:
            new = old.reopened()
        except Exception as exc:  # noqa: BLE001 - whatever the new files hold, the old generation keeps serving
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if reason != self.error:
                logger.warning("index %s changed but cannot be served (%s); still serving %s", old.index.root, reason,
                               old.generation or "the flat layout")  # fmt: skip
            self.error, self._wait = reason, min(self._wait * 2, MAX_BACKOFF_S)
            self._next = self._clock() + self._wait
            return reason
        self.current = new  # requests starting now get it; those in flight keep ``old``
        self.error, self._wait = None, self.every_s
        logger.info("index %s: now serving %s (%d items; was %s)", new.index.root, new.generation, len(new.index),
                    old.generation or "the flat layout")  # fmt: skip
        return None
