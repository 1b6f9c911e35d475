"""A tiny name -> builder registry: everything a config can select is looked up here.

Shape follows timm's ``register_model`` / ``create_model``: a ``register(name)`` decorator,
``create(name_or_obj, **kwargs)``, ``list(pattern)`` and ``is_registered(name)``. A duplicate
name raises, and an unknown name raises ``UnknownNameError`` (a ``ConfigError`` and a ``KeyError``): one line
with the closest registered name and every choice, e.g. ``unknown composer 'tirgg'; did you mean 'tirg'?
available: concat, image_only, text_only, tirg``. ``check(name, key=...)`` and ``check_args(name, kwargs, key=...)``
validate a config's names and arguments without building anything (``engine/validate.py``).

Entries are found, not listed: a registry names the packages that provide its entries (``discover=``), and the
first lookup imports every module below them (``import_submodules``), so each module's ``@REG.register(name)``
decorator runs. Adding a loss, a task or a dataset is adding a file; no module list is edited. A registry may also
name an entry-point group (``entry_points=``): every installed distribution's entry point of that group names a
module or package whose modules are imported the same way, so a package above the registry's own (the world
registers datasets) or a user's own package provides entries without the registry naming it
(``provider_modules``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.metadata
import inspect
import pkgutil
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from semspace.errors import ConfigError

T = TypeVar("T")


def did_you_mean(name: str, choices: Any) -> str:
    """``" did you mean 'x'?"`` for the closest of ``choices`` (``difflib``; else the only choice that starts with
    ``name``), or ``""`` when none is close."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    if not close and str(name):
        close = [c for c in names if c.startswith(str(name))]
    return f" did you mean {close[0]!r}?" if len(close) == 1 else ""


class UnknownNameError(ConfigError, KeyError):
    """A name that is not registered (or not one of a fixed set of choices), at an optional config ``key``.

    A ``ConfigError`` (the CLI prints it as one line) and a ``KeyError`` (what a mapping lookup raises).

    Args:
        kind: what was looked up ("composer", "optimizer", ...).
        name: the unknown name.
        choices: the valid names.
        key: where the name was given (``task_args.composer``); empty when unknown.
    """

    def __init__(self, kind: str, name: Any, choices: Any, key: str = "") -> None:
        self.kind, self.name, self.choices, self.key = kind, name, sorted(str(c) for c in choices), key
        body = f"unknown {kind} {name!r};{did_you_mean(name, self.choices)} available: "
        body += ", ".join(self.choices) or "(none registered)"
        super().__init__(f"{key}: {body}" if key else body)

    def at(self, key: str) -> UnknownNameError:
        """The same error located at config ``key``."""
        return UnknownNameError(self.kind, self.name, self.choices, key)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def import_submodules(package: str) -> list[str]:
    """Imports ``package`` and every module below it (names starting with ``_`` are skipped); returns their names.

    Example:
        >>> import_submodules("semspace.losses")  # runs every @LOSSES.register in the package
    """
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(getattr(pkg, "__path__", []), prefix=f"{package}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def provider_modules(group: str) -> list[str]:
    """The modules (or packages) named by the entry points of ``group``, each once; ``module:attr`` names ``module``.

    They come from the installed distributions' metadata, except semspace's own when it runs from its source
    checkout: those are read from the checkout's ``pyproject.toml`` (``[project.entry-points."<group>"]``), so an
    editable install whose metadata predates an entry-point change still finds what the checkout declares.

    Example (a user's ``pyproject.toml``):
        ``[project.entry-points."semspace.datasets"]`` ``my_data = "my_package.datasets"``
    """
    own = _checkout_entry_points(group)
    values = list(own or [])
    for ep in importlib.metadata.entry_points(group=group):
        if own is None or ep.dist is None or ep.dist.name != "semspace":
            values.append(ep.value)
    return list(dict.fromkeys(v.split(":", 1)[0].strip() for v in values))


def _checkout_entry_points(group: str) -> list[str] | None:
    """Values of ``group`` in the source checkout's ``pyproject.toml``; None outside a checkout (an installed wheel)."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"  # <checkout>/src/semspace/registry.py
    if not pyproject.is_file():
        return None
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    if project.get("name") != "semspace":
        return None
    return list(project.get("entry-points", {}).get(group, {}).values())


class Registry(Generic[T]):
    """Maps snake_case names to classes or factory functions of one family.

    Args:
        kind: the family name used in error messages ("encoder", "loss", "dataset", ...).
        discover: packages whose modules register entries; they are imported (``import_submodules``) on the
            first lookup, listing or membership test.
        entry_points: an entry-point group whose modules register entries too (``provider_modules``); imported
            after ``discover`` on the first lookup ("": none).

    Example:
        >>> LOSSES = Registry("loss")
        >>> @LOSSES.register("soft_triplet")
        ... class SoftTripletLoss: ...
        >>> LOSSES.list("soft*")
        ['soft_triplet']
    """

    def __init__(self, kind: str, *, discover: tuple[str, ...] = (), entry_points: str = "") -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._discover = tuple(discover)
        self._entry_points = entry_points
        self._discovered = not (self._discover or self._entry_points)

    def discover(self) -> None:
        """Imports the provider packages once (then those of the entry-point group), so that their modules
        register their entries."""
        if self._discovered:
            return
        self._discovered = True  # set first: the imported modules call add() and may look entries up
        plugins = provider_modules(self._entry_points) if self._entry_points else []
        for package in (*self._discover, *plugins):
            import_submodules(package)

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering a class or function under ``name`` (default: its ``__name__``)."""

        def deco(obj: T) -> T:
            self.add(name or obj.__name__, obj)  # type: ignore[attr-defined]
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Registers ``obj`` under ``name``; a name already taken raises ``ValueError``."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered (by {self._entries[name]!r})")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """Returns the entry for ``name``; an unknown name raises ``UnknownNameError`` naming the choices."""
        self.discover()
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable value (a list in the YAML)
            raise UnknownNameError(self.kind, name, self._entries) from None

    def check(self, name: Any, key: str = "") -> None:
        """Raises ``UnknownNameError`` (located at config ``key``) unless ``name`` is a registered name."""
        if not isinstance(name, str) or not self.is_registered(name):
            raise UnknownNameError(self.kind, name, self.list(), key)

    def check_args(self, name: str, kwargs: dict[str, Any], key: str = "") -> None:
        """Raises ``ConfigError`` when entry ``name`` does not accept the keyword arguments ``kwargs``.

        Args:
            name: a registered name (``check`` it first).
            kwargs: the arguments a config gives it.
            key: where the arguments were given (``data.train.args``), for the message.
        """
        self._check_kwargs(name, self.get(name), kwargs, key)

    def create(self, name_or_obj: str | Any, /, **kwargs: Any) -> Any:
        """Builds an entry by name; a non-string argument is returned as is (already built)."""
        if not isinstance(name_or_obj, str):
            return name_or_obj
        builder = self.get(name_or_obj)
        self._check_kwargs(name_or_obj, builder, kwargs)
        return builder(**kwargs)  # type: ignore[operator]

    def _check_kwargs(self, name: str, builder: Any, kwargs: dict[str, Any], key: str = "") -> None:
        """Unknown keyword arguments are a ``ConfigError`` naming them, the closest accepted one and all of those."""
        try:
            params = inspect.signature(builder).parameters
        except (TypeError, ValueError):
            return
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        accepted = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            where = f"{key}: " if key else ""
            hint = did_you_mean(unknown[0], accepted)
            raise ConfigError(
                f"{where}{self.kind} {name!r} got unknown argument(s) {unknown};{hint} it accepts {accepted}"
            )

    def list(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell-style ``pattern``."""
        self.discover()
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def is_registered(self, name: str) -> bool:
        self.discover()
        return name in self._entries

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self.discover()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)
