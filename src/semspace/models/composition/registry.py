"""The composer registry: name -> composer class, and ``create_composer`` / ``list_composers``.

Every class registered here follows ``models.composition.base.BaseComposer``; ``register_composer(name)``
also stamps ``cls.name = name`` so a composer can describe itself (``to_config()``) for checkpoints. No composer
module is imported here: the first lookup or listing imports every module of ``semspace.models.composition``
(``Registry(discover=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from semspace.errors import ConfigError
from semspace.registry import Registry

COMPOSERS: Registry[Any] = Registry("composer", discover=("semspace.models.composition",))

C = TypeVar("C")


def register_composer(name: str) -> Callable[[type[C]], type[C]]:
    """Class decorator: registers a composer class under ``name`` and sets its ``name``.

    Example:
        >>> @register_composer("tirg")
        ... class TirgComposer(BaseComposer): ...
    """

    def deco(cls: type[C]) -> type[C]:
        cls.name = name  # type: ignore[attr-defined]
        COMPOSERS.add(name, cls)
        return cls

    return deco


def create_composer(
    name_or_module: str | nn.Module | None = None,
    /,
    *,
    dim: int | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Any:
    """Builds a registered composer by name; a module is returned as is.

    The name may also come as the ``name`` keyword, so a ``to_config()`` dict rebuilds its composer:
    ``create_composer(**composer.to_config())``.

    Args:
        name_or_module: a registered name ("tirg", "concat", "image_only", "text_only") or a built composer.
        dim: the shared embedding size D (required when building by name; checked against a given module).
        name: the registered name, as a keyword (alternative to ``name_or_module``).
        **kwargs: the composer's own arguments (``init_weights`` for "tirg", ``dropout`` for "concat").

    Returns:
        The composer module.

    Example:
        >>> composer = create_composer("tirg", dim=64)
        >>> same = create_composer(**composer.to_config())
    """
    if name_or_module is not None and name is not None:
        raise ConfigError(f"create_composer: give the composer once, got {name_or_module!r} and name={name!r}")
    target = name_or_module if name_or_module is not None else name
    if target is None:
        raise ConfigError(f"create_composer: a composer name is required; available: {COMPOSERS.list()}")
    if isinstance(target, nn.Module):
        if kwargs:
            raise ConfigError(f"create_composer: arguments {sorted(kwargs)} cannot apply to a built composer")
        module_dim = getattr(target, "dim", None)
        if dim is not None and module_dim is not None and module_dim != dim:
            raise ConfigError(f"create_composer: the given composer has dim={module_dim}, expected dim={dim}")
        return target
    if not isinstance(target, str):
        raise ConfigError(f"create_composer: expected a composer name or module, got {target!r}")
    if dim is None:
        raise ConfigError(f"composer {target!r} needs dim (the shared embedding size D)")
    return COMPOSERS.create(target, dim=dim, **kwargs)


def list_composers(pattern: str = "*") -> list[str]:
    """Sorted names of the registered composers matching a shell-style ``pattern``."""
    return COMPOSERS.list(pattern)
