"""Logging for entry points, running averages, the training progress bar, and the ``metrics.jsonl`` writer
(rank 0 only).

``metrics.jsonl`` holds one JSON object per line: ``{"time", "step", "split", ...metrics}``, ``time`` being the
run's training clock in seconds (it continues across a resume: ``MetricsWriter(elapsed=...)``). A run holds one
row per ``(step, split)``: resuming drops the rows a killed run wrote after its checkpoint (``truncate``), and a
row written again for the same step and split replaces the old one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

from semspace.utils.io import atomic_write_text


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners and notebooks swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        del value


class _LazyFileHandler(logging.FileHandler):
    """Creates its folder and opens its file at the first record: a command that fails before it logs anything
    (a config error) leaves no run folder behind."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, delay=True)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Configures the root logger (console, plus ``log_file`` when given). Only entry points call this.

    ``log_file`` (e.g. ``run_dir/train.log``) is appended to; it and its folder are created at the first record.
    Calling it again replaces the handlers it added before (not those of others, such as a test runner's).
    """
    handlers: list[logging.Handler] = [_CurrentStderrHandler()]
    if log_file is not None:
        handlers.append(_LazyFileHandler(log_file))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_semspace", False):
            root.removeHandler(h)
            h.close()
    for h in handlers:
        h.setFormatter(fmt)
        h._semspace = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(level)


def format_metrics(metrics: dict[str, float]) -> str:
    """``name value, ...`` for a log line (floats to 4 significant digits)."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def progress_bar(enabled: bool, total: int, initial: int) -> Any:
    """A ``tqdm`` bar of training steps (``initial`` of ``total`` done), or None when not ``enabled``."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True, smoothing=0.1)


def logs_beside_bar(bar: Any) -> contextlib.AbstractContextManager[Any]:
    """While a progress bar is shown, console log lines are written above it (``tqdm.contrib.logging``)."""
    if bar is None:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm()


class AverageMeter:
    """Running mean of a scalar since the last ``reset``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sum, self.count = 0.0, 0

    def update(self, value: float, n: int = 1) -> None:
        self.sum += value * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else math.nan


class MetricsWriter:
    """Writes one JSON object per line to ``run_dir/metrics.jsonl``, one row per ``(step, split)``.

    Args:
        run_dir: the run folder.
        enabled: False on the ranks that do not write (DDP).
        elapsed: the run's clock at creation (seconds already trained before a resume); ``time`` continues from it.
    """

    def __init__(self, run_dir: str | Path, enabled: bool = True, elapsed: float = 0.0) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self.t0 = time.time() - elapsed
        self._keys = {_key(r) for r in read_metrics(self.path.parent)} if enabled else set()

    def elapsed(self) -> float:
        """Seconds on the run's clock (including those before a resume)."""
        return time.time() - self.t0

    def write(self, record: dict[str, Any]) -> None:
        """Appends ``record`` (with ``time``); an existing row of the same ``step`` and ``split`` is replaced."""
        if not self.enabled:
            return
        rec = {"time": round(self.elapsed(), 3), **record}
        key = _key(rec)
        if key in self._keys:  # rare: the step a resumed run starts from, or a finished run evaluated again
            self._rewrite([r for r in read_metrics(self.path.parent) if _key(r) != key] + [rec])
            return
        self._keys.add(key)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, default=float) + "\n")

    def truncate(self, step: int) -> int:
        """Drops the rows after ``step`` (a killed run's, redone by the resumed one); returns how many."""
        if not self.enabled:
            return 0
        rows = read_metrics(self.path.parent)
        kept = [r for r in rows if not isinstance(r.get("step"), int) or r["step"] <= step]
        if len(kept) != len(rows):
            self._rewrite(kept)
        return len(rows) - len(kept)

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.path, "".join(json.dumps(r, default=float) + "\n" for r in rows))
        self._keys = {_key(r) for r in rows}


def _key(row: dict[str, Any]) -> tuple[Any, Any]:
    return (row.get("step"), row.get("split"))


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of ``run_dir/metrics.jsonl`` (empty when absent)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill
            continue
    return rows
