"""Item fields and filters: metadata a user attaches to items, and the conditions a search keeps items by (issue 21).

Fields come from a sidecar file at build time (``retrieval/sidecar.py``: path -> fields) and live in the store's
``item_fields`` table, one row per (item, field name): the value as text, and as a number when it is one, so that
equality compares text and ranges compare numbers, each through an index. The table is made by the first writer
that sets a field (not by a schema migration: a migration would make every reader of an older 10^6-item store copy
it into memory to migrate it); a store without it has no fields, and every field condition matches nothing.

A **filter** is a list of conditions, all of which an item must meet (``parse_condition``):

* ``source=NAME``: items synced from that source (``semspace index info`` lists them);
* ``path=GLOB``: the item's uri matches a glob (``*``, ``?``, ``[...]``; SQLite's ``GLOB``: case-sensitive);
* ``domain=NAME``, ``label=TEXT``: the item's collection and label;
* ``NAME=VALUE``, ``NAME!=VALUE``: a field equal (or not) to a value (compared as a number when both are numbers);
* ``NAME>=X``, ``NAME>X``, ``NAME<=X``, ``NAME<X``: a numeric field in a range.

``ids_matching`` turns a filter into the ids it keeps (one SQL query); the search restricts faiss to them with an
``IDSelectorBatch``, inside the search: ``k`` results come back whenever ``k`` items match, and on a Flat index
they are the exact top ``k`` within the filter (an IVF index visits ``nprobe`` lists: approximate within it too).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from semspace.errors import ConfigError, DataError

TABLE = "item_fields"
CHUNK = 500  # ids per query (SQLite allows 999 bound parameters in old builds)
BUILT_IN = {"source": "source", "path": "uri", "domain": "domain", "label": "label"}  # name -> items column
_CONDITION = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.\-]*)\s*(?P<op>!=|>=|<=|=|>|<)(?P<value>.*)$", re.DOTALL)
_RANGE_OPS = (">=", ">", "<=", "<")
SYNTAX = "NAME=VALUE, NAME!=VALUE, NAME>=X, NAME<X, ..., source=NAME, path=GLOB"


@dataclass(frozen=True)
class Condition:
    """One condition of a filter: ``name op value`` (module docstring)."""

    name: str
    op: str
    value: str

    def describe(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_condition(text: str) -> Condition:
    """``"year>=2000"`` -> ``Condition("year", ">=", "2000")``.

    Raises:
        ConfigError: not ``NAME OP VALUE``, a range on a built-in field or with a value that is not a number.
    """
    m = _CONDITION.match(text)
    if m is None:
        raise ConfigError(f"filter {text!r} is not a condition; write {SYNTAX}")
    name, op, value = m["name"], m["op"], m["value"].strip()
    if op in _RANGE_OPS:
        if name in BUILT_IN:
            raise ConfigError(f"filter {text!r}: {name} takes = or !=, not {op}")
        if _number(value) is None:
            raise ConfigError(f"filter {text!r}: {op} compares numbers, and {value!r} is not one")
    if name == "path" and op == "!=":
        raise ConfigError(f"filter {text!r}: path takes a glob with =, e.g. path=*/cats/*")
    return Condition(name, op, value)


def parse_filter(conditions: Iterable[str | Condition] | None) -> list[Condition]:
    """Conditions from texts (or already parsed); None -> no filter."""
    return [c if isinstance(c, Condition) else parse_condition(c) for c in conditions or []]


def has_fields(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
    return found is not None


def set_fields(conn: sqlite3.Connection, fields_by_id: Mapping[int, Mapping[str, Any]]) -> int:
    """Replaces the fields of each item id (``{id: {name: value}}``; a value of None drops that field); returns how
    many items were given fields. The caller holds a writable connection."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (item_id INTEGER NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL,"
        " number REAL, PRIMARY KEY (item_id, name))"
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_text ON {TABLE} (name, text)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_number ON {TABLE} (name, number)")
    rows = []
    for item_id, fields in fields_by_id.items():
        for name, value in fields.items():
            if name in BUILT_IN:
                raise DataError(f"field name {name!r} is reserved (a filter reads it from the item itself)")
            if value is not None:
                rows.append((int(item_id), str(name), _text(value), _number(value)))
    with conn:
        ids = [(int(i),) for i in fields_by_id]
        conn.executemany(f"DELETE FROM {TABLE} WHERE item_id = ?", ids)
        conn.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", rows)
    return len(fields_by_id)


def changed(conn: sqlite3.Connection, fields_by_id: Mapping[int, Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The entries of ``fields_by_id`` that differ from what the items hold (a sidecar read again changes nothing)."""
    if not has_fields(conn):
        return {i: f for i, f in fields_by_id.items() if any(v is not None for v in f.values())}
    held: dict[int, dict[str, str]] = {int(i): {} for i in fields_by_id}
    ids = list(held)
    for start in range(0, len(ids), CHUNK):  # one query per chunk of items, not per item
        chunk = ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for item_id, name, text in conn.execute(
            f"SELECT item_id, name, text FROM {TABLE} WHERE item_id IN ({marks})", chunk
        ):
            held[int(item_id)][str(name)] = str(text)
    return {
        i: f
        for i, f in fields_by_id.items()
        if held[int(i)] != {str(k): _text(v) for k, v in f.items() if v is not None}
    }


def fields_of(conn: sqlite3.Connection, item_id: int) -> dict[str, str | float]:
    """One item's fields (numbers as numbers)."""
    if not has_fields(conn):
        return {}
    rows = conn.execute(f"SELECT name, text, number FROM {TABLE} WHERE item_id = ? ORDER BY name", (int(item_id),))
    return {str(r[0]): (r[2] if r[2] is not None and _number(r[1]) is not None else r[1]) for r in rows}


def remove_fields(conn: sqlite3.Connection, ids: list[int]) -> None:
    """Drops the fields of removed items (the caller's transaction)."""
    if ids and has_fields(conn):
        conn.executemany(f"DELETE FROM {TABLE} WHERE item_id = ?", [(int(i),) for i in ids])


def ids_matching(conn: sqlite3.Connection, conditions: list[Condition], domains: list[str] | None = None
                 ) -> np.ndarray:  # fmt: skip
    """The ids of the items that meet every condition (and are in ``domains`` when given): ``(M,)`` int64, sorted."""
    where: list[str] = []
    args: list[Any] = []
    if domains:
        where.append(f"domain IN ({','.join('?' * len(domains))})")
        args += list(domains)
    fields = has_fields(conn)
    for c in conditions:
        if c.name in BUILT_IN:
            column = BUILT_IN[c.name]
            if c.name == "path":
                where.append(f"{column} GLOB ?")
            else:
                where.append(f"{column} {'=' if c.op == '=' else '!='} ?")
            args.append(c.value)
            continue
        if not fields:
            return np.empty(0, dtype=np.int64)  # no item has any field
        number = _number(c.value)
        if c.op in _RANGE_OPS:
            where.append(f"id IN (SELECT item_id FROM {TABLE} WHERE name = ? AND number {c.op} ?)")
            args += [c.name, number]
        elif number is not None:
            sub = f"SELECT item_id FROM {TABLE} WHERE name = ? AND number = ?"
            where.append(f"id {'IN' if c.op == '=' else 'NOT IN'} ({sub})")
            args += [c.name, number]
        else:
            sub = f"SELECT item_id FROM {TABLE} WHERE name = ? AND text = ?"
            where.append(f"id {'IN' if c.op == '=' else 'NOT IN'} ({sub})")
            args += [c.name, c.value]
    query = "SELECT id FROM items" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
    cur = conn.execute(query, args)
    cur.row_factory = None
    return np.fromiter((r[0] for r in cur), dtype=np.int64)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
