"""The encoder registry: architecture name -> encoder class (STYLE A.4).

Every class registered here follows the encoder contract of ``models.encoders.base.BaseEncoder`` and
carries its cfg dataclass as ``cfg_class``; the factory (``models.factory``) turns a named JSON preset into
that dataclass and calls ``cls(cfg)``. ``register_encoder(name)`` also stamps ``cls.architecture = name`` so
an encoder can describe itself (``to_config()``) for checkpoints. No encoder module is imported here: the first
lookup or listing imports every module of ``semspace.models.encoders`` (``Registry(discover=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from semspace.registry import Registry

ENCODERS: Registry[Any] = Registry("encoder", discover=("semspace.models.encoders",))

E = TypeVar("E")


def register_encoder(name: str) -> Callable[[type[E]], type[E]]:
    """Class decorator: registers an encoder class under ``name`` and sets its ``architecture``.

    Example:
        >>> @register_encoder("small_cnn")
        ... class SmallCnnEncoder(BaseEncoder): ...
    """

    def deco(cls: type[E]) -> type[E]:
        cls.architecture = name  # type: ignore[attr-defined]
        ENCODERS.add(name, cls)
        return cls

    return deco
