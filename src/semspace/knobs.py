"""The user's knobs that the CLI reads before any command runs, named and parsed without torch (issue 20).

``semspace --threads N`` / ``SEMSPACE_THREADS`` is checked while the command line is parsed, so a bad value is a
one-line usage error of a CLI that has not imported torch; ``semspace.utils.threads`` applies the value to torch
when a command starts.
"""

from __future__ import annotations

THREADS_ENV = "SEMSPACE_THREADS"


def parse_threads(value: str) -> int | None:
    """``"auto"`` -> None (chosen at start-up by ``auto_threads``); ``"N"`` -> N >= 1; anything else raises ValueError
    (this module sits below semspace.errors: the CLI turns it into a usage error)."""
    text = value.strip().lower()
    if text == "auto":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"threads {value!r}: expected a whole number >= 1 or 'auto'")
    return n
