"""Data specs: one command-line string naming a registered dataset and its arguments (``--data SPEC``).

Grammar: ``NAME[:ARGS]``, where ``ARGS`` is either a comma-separated list of ``key=value`` pairs or, when it
holds no ``=``, a single root folder or file (commas allowed)::

    folder:photos/                          -> DataSpec("folder", {"root": "photos/"})
    world_scenes:split=test,n=200,view=render3d -> DataSpec("world_scenes", {"split": "test", "n": 200, ...})
    world_objects                           -> DataSpec("world_objects", {})

Values are read by ``semspace.config.parse_value``, the same rules as ``--set`` (see ``semspace.config``):
``true``/``false`` (bool), ``none``/``null`` (None), decimal integers, decimal floats (``0.5``, ``1e-3``), and
otherwise the string as written: ``yes``/``no``/``on``/``off``, ``0x10``, ``nan`` stay strings. Quote a value
with ``"..."`` or ``'...'`` to keep it a string or to put commas in it. Unlike ``--set``, ``[...]`` and
``{...}`` are not lists or mappings here (the pairs are split on commas). Everything after the first ``=`` of a
pair is the value, so ``root=a=b`` gives ``{"root": "a=b"}``.
"""

from __future__ import annotations

import re
from typing import Any

from semspace.config import DataSpec, parse_value
from semspace.errors import ConfigError

__all__ = ["DataSpec", "format_data_spec", "parse_data_spec", "parse_value"]

EXAMPLE = "e.g. 'folder:photos/' or 'world_scenes:split=test,n=200,view=render3d'"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_data_spec(spec: str) -> DataSpec:
    """Parses ``NAME[:ARGS]`` (see module docstring) into a ``DataSpec(name, args)``.

    Args:
        spec: the string given to ``--data``.

    Raises:
        ConfigError: an empty or malformed spec (bad name, empty key, a pair without ``=``, a repeated
            key); the message quotes the spec and gives an example.

    Example:
        >>> parse_data_spec("world_scenes:split=test,n=200")
        DataSpec(name='world_scenes', args={'split': 'test', 'n': 200})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"empty data spec; expected NAME[:ARGS], {EXAMPLE}")
    name, sep, rest = spec.strip().partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise ConfigError(f"data spec {spec!r}: {name!r} is not a dataset name; expected NAME[:ARGS], {EXAMPLE}")
    if not sep:
        return DataSpec(name=name, args={})
    if not rest.strip():
        raise ConfigError(f"data spec {spec!r}: nothing after ':'; expected a folder or key=value pairs, {EXAMPLE}")
    if "=" not in rest:
        return DataSpec(name=name, args={"root": rest.strip()})
    args: dict[str, Any] = {}
    for part in _split_outside_quotes(rest, spec):
        if not part.strip():
            raise ConfigError(f"data spec {spec!r}: empty item between commas; {EXAMPLE}")
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq:
            raise ConfigError(f"data spec {spec!r}: {part.strip()!r} is not key=value; {EXAMPLE}")
        if not _KEY.match(key):
            raise ConfigError(f"data spec {spec!r}: {key!r} is not a valid argument name; {EXAMPLE}")
        if key in args:
            raise ConfigError(f"data spec {spec!r}: argument {key!r} is given twice; {EXAMPLE}")
        args[key] = parse_value(raw)
    return DataSpec(name=name, args=args)


def format_data_spec(spec: DataSpec) -> str:
    """The string form of a ``DataSpec`` (``parse_data_spec(format_data_spec(s)) == s`` for simple values)."""
    if not spec.args:
        return spec.name
    parts = []
    for key, value in spec.args.items():
        text = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, str) and parse_value(value) != value or "," in text:
            text = f'"{text}"'
        parts.append(f"{key}={text}")
    return f"{spec.name}:{','.join(parts)}"


def _split_outside_quotes(text: str, spec: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    if quote:
        raise ConfigError(f"data spec {spec!r}: unbalanced {quote} quote; {EXAMPLE}")
    parts.append("".join(buf))
    return parts
