"""What a command sets up before it runs, done when it runs rather than when ``semspace`` starts (issue 20).

The CLI starts without torch: parsing the command line, ``--help``, ``--version`` and usage errors import none of
the libraries (each command module imports what it uses inside its function). The set-up every command shares
imports torch, so it waits for the command: the root callback (``cli/main.py``) calls ``before_command``, which
makes the command about to run call ``StartUp.run`` first, after its own arguments were parsed:

- logging, at the level ``main()`` chose (``--debug``: DEBUG), through ``engine.logging.setup_logging``;
- torch's CPU threads from ``--threads`` / ``SEMSPACE_THREADS`` (``utils.threads.apply_threads``).

The commands in ``WITHOUT_TORCH`` use no torch of their own (``version``, ``index info``, whose missing folder is
one error line without torch): they skip that set-up unless torch is loaded already.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WITHOUT_TORCH = frozenset({"version", "index info"})  # command paths that set up neither logging nor threads


@dataclass
class StartUp:
    """The shared set-up of one CLI run: ``main()`` hands it to the commands as click's ``obj`` with its log level,
    the root callback fills in ``threads``. ``log_level`` None: logging is left as it is (``app`` called directly,
    without ``main()``, as before)."""

    log_level: int | None = None
    threads: str | None = None  # --threads; None: SEMSPACE_THREADS, else auto

    def run(self, path: str) -> None:
        """Sets up logging and torch's threads for the command ``path`` (e.g. ``"index build"``) about to run."""
        if path in WITHOUT_TORCH and "torch" not in sys.modules:
            return
        from semspace.engine.logging import setup_logging
        from semspace.utils.threads import apply_threads

        if self.log_level is not None:
            setup_logging(None, self.log_level)  # commands that log more set it up again
        apply_threads(self.threads)


def before_command(ctx: Any, start: StartUp) -> None:
    """Makes the command that the root context ``ctx`` is about to invoke (a group: every command under it) call
    ``start.run(path)`` before its function. The click commands are built afresh on every call of the app, so this
    changes only this run's."""
    name = ctx.invoked_subcommand
    command = ctx.command.get_command(ctx, name) if name else None
    if command is not None:
        _wrap(command, name, start)


def _wrap(command: Any, path: str, start: StartUp) -> None:
    subs = getattr(command, "commands", None)
    if subs is not None:  # a group (index, world): its commands
        for name, sub in subs.items():
            _wrap(sub, f"{path} {name}", start)
        return
    callback: Callable[..., Any] | None = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def started(*args: Any, **kwargs: Any) -> Any:
        start.run(path)
        return callback(*args, **kwargs)

    command.callback = started
