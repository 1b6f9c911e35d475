"""Logging for entry points, running averages, and the ``metrics.jsonl`` writer (rank 0 only)."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any


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


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Configures the root logger (console, plus ``log_file`` when given). Only entry points call this.

    Calling it again replaces the handlers it added before (not those of others, such as a test runner's).
    """
    handlers: list[logging.Handler] = [_CurrentStderrHandler()]
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
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
    """Appends one JSON object per line to ``run_dir/metrics.jsonl`` (line-buffered, crash-safe enough)."""

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self.t0 = time.time()

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        rec = {"time": round(time.time() - self.t0, 3), **record}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, default=float) + "\n")


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of ``run_dir/metrics.jsonl`` (empty when absent)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
