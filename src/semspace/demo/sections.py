"""The demo's sections: one per method, each in its own file of ``semspace.demo``, registered by decorator.

A section is a function ``(SectionRun) -> SectionResult``: it trains its method on the world (or packaged real data),
scores it, draws its pictures into ``run.out`` and returns its metrics and its part of ``report.md``.
``run_demo`` (``demo/run.py``) finds the sections (``SECTIONS`` imports every module of ``semspace.demo`` on first
lookup) and runs the main one first and the others by ``order``, so a new method's section is a new file with
``@demo_section(...)``; no other file is edited.

Exactly one section is the ``main`` one, the demo's main job: its files lie at the top of the demo's folder, its
metrics at the top of ``metrics.json``, its blurb opens the demo's introduction and its table is what
``semspace demo`` prints; every other section writes to ``OUT/<name>/`` and ``metrics.json[name]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semspace.registry import Registry


@dataclass(frozen=True)
class SectionRun:
    """What a section is run with: its output folder, ``--quick``, the training seed (``semspace demo --seed``; the
    main section's, the others keep their configs' seeds) and whether to show progress bars."""

    out: Path
    quick: bool = False
    seed: int = 0
    progress: bool = False


@dataclass
class SectionResult:
    """A section's outcome: ``metrics`` (JSON-able, into ``metrics.json``), ``markdown`` (its part of
    ``report.md``) and, for the main section, the ``table`` ``semspace demo`` prints."""

    metrics: dict[str, Any]
    markdown: str
    table: str = ""


@dataclass(frozen=True)
class DemoSection:
    """A registered section: ``name`` (its folder and ``metrics.json`` key), ``order`` (after the main section,
    smaller runs first), ``blurb`` (its words in the demo's introduction), ``configs`` (the shipped configs it loads,
    checked before the demo starts), ``main`` (see the module docstring) and the function ``run``."""

    name: str
    order: int
    blurb: str
    run: Callable[[SectionRun], SectionResult]
    configs: tuple[str, ...] = field(default=())
    main: bool = False


SECTIONS: Registry[DemoSection] = Registry("demo section", discover=("semspace.demo",))


def demo_section(
    name: str, *, order: int, blurb: str, configs: tuple[str, ...] = (), main: bool = False
) -> Callable[[Callable[[SectionRun], SectionResult]], Callable[[SectionRun], SectionResult]]:
    """Decorator registering a section function under ``name`` (see ``DemoSection`` for the arguments).

    Example:
        >>> @demo_section("chtn", order=20, blurb="CHTN (text <-> image)", configs=("configs/chtn/world.yaml",))
        ... def chtn_section(run: SectionRun) -> SectionResult: ...
    """

    def deco(fn: Callable[[SectionRun], SectionResult]) -> Callable[[SectionRun], SectionResult]:
        SECTIONS.add(name, DemoSection(name, order, blurb, fn, tuple(configs), main))
        return fn

    return deco


def ordered_sections() -> list[DemoSection]:
    """Every registered section, the main one first, then by ``order`` (then name); exactly one must be ``main``."""
    sections = sorted((SECTIONS.get(n) for n in SECTIONS.list()), key=lambda s: (not s.main, s.order, s.name))
    mains = [s.name for s in sections if s.main]
    if len(mains) != 1:
        raise ValueError(f"the demo needs exactly one main section, got {mains or 'none'}")
    return sections
