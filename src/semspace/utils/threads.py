"""CPU threads of a ``semspace`` command: one knob, ``--threads N`` or ``SEMSPACE_THREADS`` (issue 22).

Measured on 2 cores next to two busy processes (benchmarks/contention.py): what collapses is libgomp's spin-waiting,
not the thread count. With OpenMP threads that sleep at once when idle (``OMP_WAIT_POLICY=PASSIVE``, set by
``semspace/__init__.py`` before torch loads libgomp, unless the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``),
torch's thread count was 2.1-2.7x one thread alone, and one thread (a load-aware default tried first) 2.7-4.4x: the
scheduler shares a core per thread, and the busy neighbours run two threads each. So ``auto`` keeps torch's count,
capped by the cores the process may use (CPU affinity and a cgroup CPU quota, which torch ignores).

Precedence: ``--threads`` > ``SEMSPACE_THREADS`` > ``OMP_NUM_THREADS`` (torch's own default then stands) > ``auto``;
a run's ``train.threads`` (when not 0) overrides all of them while it trains.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from semspace.knobs import THREADS_ENV as ENV
from semspace.knobs import parse_threads as parse_threads  # torch-free: the CLI checks --threads with it at start-up

_TORCH_DEFAULT = torch.get_num_threads()  # before any --threads: one per physical core, or OMP_NUM_THREADS


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota (containers)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def auto_threads() -> int:
    """Torch's own default (one thread per physical core, or ``OMP_NUM_THREADS``), capped by the usable cores."""
    return max(1, min(usable_cores(), _TORCH_DEFAULT))


def apply_threads(option: str | None) -> int:
    """Sets torch's intra- and inter-op threads for this process from ``--threads`` (``option``) or the environment.

    Returns:
        The number of intra-op threads now in force.
    """
    value = option if option is not None else os.environ.get(ENV)
    if value is None and os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()  # the user chose with OpenMP's own variable: torch already honours it
    n = parse_threads(value) if value is not None else None
    n = auto_threads() if n is None else n
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # settable once, before any inter-op work (a second main() in one process, tests)
        pass
    return n
