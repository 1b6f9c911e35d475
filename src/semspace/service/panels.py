"""The page's panels and what a loaded run needs for each: asked of the task (its domains' kinds, its capabilities),
never guessed from a domain's name.

A panel is one ``Panel`` row here plus one ``<section data-panel="NAME">`` in ``static/index.html`` and its handler
in ``static/app.js``; ``/api/info`` lists every panel with ``available`` and, when it is not, ``why``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from semspace.capabilities import HOW_TO_GET, supports
from semspace.data.domains import DomainSpec, InputKind


@dataclass(frozen=True)
class Panel:
    """One panel of the page: ``missing(task, domains)`` is None when the run can serve it, else why not."""

    name: str
    title: str
    missing: Callable[[Any, dict[str, DomainSpec]], str | None]


def _kind(kind: InputKind) -> Callable[[Any, dict[str, DomainSpec]], str | None]:
    def missing(task: Any, domains: dict[str, DomainSpec]) -> str | None:
        if any(spec.kind is kind for spec in domains.values()):
            return None
        kinds = ", ".join(f"{n} ({s.kind.value})" for n, s in domains.items())
        return f"the run's task embeds no {kind.value} domain (its domains: {kinds})"

    return missing


def _capability(name: str) -> Callable[[Any, dict[str, DomainSpec]], str | None]:
    def missing(task: Any, domains: dict[str, DomainSpec]) -> str | None:
        return None if supports(task, name) else f"this run cannot {name}: {HOW_TO_GET[name]}"

    return missing


PANELS: tuple[Panel, ...] = (
    Panel("image", "Image", _kind(InputKind.IMAGE)),
    Panel("sketch", "Sketch", _kind(InputKind.SKETCH)),
    Panel("text", "Text", _kind(InputKind.TEXT)),
    Panel("translate", "Translate", _capability("translate")),
)


def panel_status(task: Any, domains: dict[str, DomainSpec]) -> list[dict[str, Any]]:
    """``[{"name", "title", "available", "why"}]`` for every panel, in page order."""
    out = []
    for panel in PANELS:
        why = panel.missing(task, domains)
        out.append({"name": panel.name, "title": panel.title, "available": why is None, "why": why})
    return out
