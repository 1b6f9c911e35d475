"""What a trained task can do beyond embedding, declared as ``typing.Protocol``s in one place.

Every task embeds its domains (``Task.domains()``, ``Task.embed(domain, inputs)``). Some can do more, and the
CLI, the index and the service ask a task what it supports (``supports(task, "compose")``,
``capabilities(task)``) instead of calling and catching errors:

* ``compose``: composed retrieval (TIRG, arXiv:1812.07119; LTT, arXiv:1903.00793): a query embedding modified
  by a text ("make the red cube blue");
* ``translate``: exemplar-guided translation (EGSC-IT, arXiv:1805.11145): the content of one image in the style
  of an exemplar;
* ``generate_query``: a query feature generated from an input of another domain (SSGN's sketch -> photo
  feature for zero-shot sketch retrieval).

A task has a capability when it implements the protocol's methods (structural typing); nothing is registered.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from semspace.errors import ConfigError


@runtime_checkable
class Composes(Protocol):
    """Composed retrieval: ``compose(query (B, D), texts) -> (B, D)`` unit norm."""

    def compose(self, query: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """A query embedding modified by ``texts``; an empty text leaves its query unchanged."""
        ...

    def composable_domains(self) -> list[str]:
        """The query domains whose embeddings the composer may modify."""
        ...

    def unknown_words(self, texts: list[str]) -> list[str]:
        """Words of ``texts`` the modification encoder does not know (they are ignored)."""
        ...


@runtime_checkable
class Translates(Protocol):
    """Exemplar-guided translation: ``translate(content (B, C, H, W), exemplar (B, C, H, W), direction) ->
    (B, C, H, W)``; ``direction`` ``"a2b"`` reads the content in the task's first domain and the exemplar in its
    second, ``"b2a"`` the other way round (``domains()`` order)."""

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """The content of ``content`` rendered in the style of ``exemplar``."""
        ...


@runtime_checkable
class GeneratesQueries(Protocol):
    """Query generation: ``generate_query(domain, inputs) -> (B, D)``, e.g. a photo feature from a sketch."""

    def generate_query(self, domain: str, inputs: Any) -> torch.Tensor:
        """The generated query embeddings of a batch of ``domain`` inputs."""
        ...


CAPABILITIES: dict[str, type] = {
    "compose": Composes,
    "translate": Translates,
    "generate_query": GeneratesQueries,
}
HOW_TO_GET = {
    "compose": "train a 'transfer' task (configs/transfer/) to search with a modification",
    "translate": "train a translation task to translate with an exemplar",
    "generate_query": "train a task that generates query features (zero-shot sketch retrieval)",
}


def capabilities(task: Any) -> list[str]:
    """The names of the capabilities ``task`` implements, in ``CAPABILITIES`` order."""
    return [name for name, proto in CAPABILITIES.items() if isinstance(task, proto)]


def supports(task: Any, capability: str) -> bool:
    """Whether ``task`` implements ``capability`` (a key of ``CAPABILITIES``)."""
    if capability not in CAPABILITIES:
        raise ConfigError(f"unknown capability {capability!r}; expected one of {list(CAPABILITIES)}")
    return isinstance(task, CAPABILITIES[capability])


def require(task: Any, capability: str) -> Any:
    """Returns ``task`` when it supports ``capability``; otherwise a ``ConfigError`` saying what it can do."""
    if not supports(task, capability):
        name = getattr(task, "name", type(task).__name__)
        has = ", ".join(["embed", *capabilities(task)])
        what = capability.replace("_", " ")
        raise ConfigError(f"task {name!r} cannot {what} (it can: {has}); {HOW_TO_GET[capability]}")
    return task
