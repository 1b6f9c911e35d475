"""Benchmark and report writing: results -> ``<name>.json`` + ``<name>.md`` (DESIGN §8).

JSON layout: ``{"name", "seed", "config", "machine": {"cpu", "cores", "torch", ...}, "rows": [{"method": ...,
"<metric>": value}], "seconds"}``; the Markdown holds the same rows as a paper-style table plus notes.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from semspace.utils.io import atomic_write_text
from semspace.version import __version__


def machine_info() -> dict[str, Any]:
    """CPU model, core count, torch version and the GPU (if any) of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": cores, "torch": torch.__version__, "gpu": gpu, "semspace": __version__}


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` restricted to ``columns`` (floats rounded)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return "" if v is None else str(v)

    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def write_benchmark(
    name: str,
    *,
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    seed: int | str,
    config: dict[str, Any],
    seconds: float,
    title: str,
    notes: str = "",
    out_dir: str | Path = "benchmarks/results",
) -> tuple[Path, Path]:
    """Writes ``out_dir/<name>.json`` and ``.md`` atomically; returns both paths. ``seed``: the training seed, or
    the seeds of rows averaged over several as text (``"0-2"``: "Seeds 0-2")."""
    out = Path(out_dir)
    machine = machine_info()
    doc = {"name": name, "seed": seed, "config": config, "machine": machine, "rows": rows, "seconds": seconds}
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    atomic_write_text(json_path, json.dumps(doc, indent=2) + "\n")
    md = [
        f"# {title}",
        "",
        markdown_table(rows, columns),
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}"
        + (f", GPU {machine['gpu']}" if machine["gpu"] else "")
        + f". {'Seeds' if isinstance(seed, str) else 'Seed'} {seed}. Wall time {seconds:.1f} s.",
    ]
    if notes:
        md += ["", notes.strip()]
    atomic_write_text(md_path, "\n".join(md) + "\n")
    return json_path, md_path
