"""``semspace demo``: the main job on the world, end to end, one section per method (``demo/sections.py``).

``run_demo``

1. checks that every section's shipped config is in the package (before any work);
2. generates a small world of every kind (PNG + JSONL) with contact sheets;
3. runs the registered sections, the main one first (``demo/tirg.py``: LTT on TIRG, an index, searches) into
   ``OUT``, then each other method's by order (``demo/chtn.py``, ``demo/ssgn.py``, ``demo/egsc_it.py``, ...) into
   ``OUT/<name>``, rewriting ``OUT/report.md`` and ``OUT/metrics.json`` after each one;
4. ``report.md``: the introduction, the main section, the world's sheets and the wall time, the other sections.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from semspace.demo.common import shipped_run_cfg
from semspace.demo.sections import DemoSection, SectionRun, ordered_sections
from semspace.utils.io import atomic_write_text
from semspace.world import KINDS
from semspace.world.export import export_world
from semspace.world.preview import save_contact_sheet


def demo_intro() -> str:
    """What ``semspace demo`` says it does: the main section's blurb, then the other sections'."""
    sections = ordered_sections()
    main = next(s for s in sections if s.main)
    others = [s.blurb for s in sections if not s.main]
    listed = " and ".join([", ".join(others[:-1]), others[-1]]) if len(others) > 1 else "".join(others)
    return (
        f"semspace demo: {main.blurb}; then a short run of each other method on the world or packaged real data: "
        f"{listed}. About 4-7 minutes on 2 cores (--quick: about 1); writes OUT/report.md and OUT/metrics.json."
    )


def check_configs() -> list[str]:
    """Loads every section's shipped config (``FileNotFoundError`` for one missing from the installed package, a
    ``ConfigError`` for a broken one); returns their names."""
    names = [rel for s in ordered_sections() for rel in s.configs]
    for rel in names:
        shipped_run_cfg(rel)
    return names


def run_demo(
    out: str | Path = "runs/demo", *, quick: bool = False, seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """Runs the demo into ``out`` with training seed ``seed``; returns the metrics also written to
    ``out/metrics.json``, with the main section's ``table``."""
    out = Path(out)
    t0 = time.time()
    check_configs()
    sheets = {}
    for kind in KINDS:
        export_world(kind, out / "world" / kind, n=32 if quick else 64, seed=0, progress=progress)
        sheets[kind] = save_contact_sheet(kind, out / "sheets" / f"{kind}.png", n=6)

    metrics: dict[str, Any] = {}
    head, parts, table = "", [], ""
    intro = demo_intro()
    for section in ordered_sections():
        result = section.run(SectionRun(_folder(out, section), quick=quick, seed=seed, progress=progress))
        if section.main:
            metrics.update(result.metrics)
            head, table = result.markdown, result.table
        else:
            metrics[section.name] = result.metrics
            parts.append(result.markdown)
        metrics["seconds"] = round(time.time() - t0, 1)
        metrics.setdefault("torch_threads", torch.get_num_threads())  # as the main section left them
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        atomic_write_text(out / "report.md", "\n".join([_report(intro, head, sheets, metrics["seconds"]), *parts]))
    metrics["table"] = table
    return metrics


def _folder(out: Path, section: DemoSection) -> Path:
    """The main section writes at the top of the demo's folder, every other one into its own."""
    return out if section.main else out / section.name


def _report(intro: str, main: str, sheets: dict[str, Path], seconds: float) -> str:
    lines = [
        "# semspace demo report",
        "",
        intro,
        "",
        main,
        "## The world",
        "",
        *[f"### {kind}\n\n![{kind}](sheets/{kind}.png)\n" for kind in sheets],
        f"Wall time {seconds} s. Run folder: `run/` (config.yaml, metrics.jsonl, model.pt).",
    ]
    return "\n".join(lines) + "\n"
