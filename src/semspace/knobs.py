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


DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"  # what --device takes (semspace eval, index build, search, ...)


def parse_device(value: str) -> str:
    """``--device`` checked without torch: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (N >= 0), lower-cased
    and stripped; anything else raises ValueError. Whether CUDA is there is ``utils.device.resolve_device``'s to say,
    when the command runs."""
    text = value.strip().lower()
    if text in ("auto", "cpu", "cuda"):
        return text
    kind, _, index = text.partition(":")
    if kind == "cuda" and index.isdigit():
        return f"cuda:{int(index)}"
    raise ValueError(f"device {value!r}: expected {DEVICE_CHOICES}")
