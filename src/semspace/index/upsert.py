"""Which items given to ``EmbeddingIndex.add`` are new, which replace a stored item in place, which are unchanged.

The rules (``EmbeddingIndex.add``): an item with a uri is the content of that path in its domain and source (an item
stored without a source is taken over by the first source that lists its uri); the same uri with another content
hash keeps its id and gets the new vector; with the same hash it is unchanged. An item without a uri is identified
by its content hash. Repeats within one call are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from semspace.errors import DataError
from semspace.index.store import ItemStore


@dataclass
class Upsert:
    """The plan of one ``add``: ``ids[i]`` is item i's id (-1: unchanged or a repeat, skipped)."""

    ids: list[int] = field(default_factory=list)
    new: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (position in items, row with a new id)
    changed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (position, row keeping its stored id)

    @property
    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        return self.new + self.changed


def check_items(items: list[dict[str, Any]], collections: set[str], where: str) -> None:
    """Every item names a recorded collection and a content hash.

    Raises:
        DataError: naming the first item that does not, and what it lacks.
    """
    for i, it in enumerate(items):
        if not it.get("domain") or not it.get("content_hash"):
            raise DataError(f"item {i} needs 'domain' and 'content_hash', got keys {sorted(it)}")
        if str(it["domain"]) not in collections:
            raise DataError(
                f"item {i}: domain {it['domain']!r} has no collection in {where}; record it first with "
                f"add_domain(spec) (collections: {sorted(collections)})"
            )


def plan_upsert(store: ItemStore, items: list[dict[str, Any]]) -> Upsert:
    """Looks up the stored items the given ones correspond to (module docstring) and assigns ids."""
    stored: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (domain, source) -> uri -> stored item
    known: dict[str, set[str]] = {}  # domain -> stored hashes of the uri-less items given
    for dom, src in {(str(it["domain"]), str(it.get("source", ""))) for it in items}:
        mine = [it for it in items if it["domain"] == dom and str(it.get("source", "")) == src]
        uris = [str(it["uri"]) for it in mine if it.get("uri")]
        stored[dom, src] = store.items_by_uri(dom, uris, source=src)
    for dom in {str(it["domain"]) for it in items}:
        hashes = [str(it["content_hash"]) for it in items if it["domain"] == dom and not it.get("uri")]
        known[dom] = store.existing_hashes(dom, hashes)
    plan = Upsert()
    seen: set[tuple[str, str, str]] = set()
    next_id = store.next_id()
    for i, it in enumerate(items):
        dom, h, uri, src = (
            str(it["domain"]),
            str(it["content_hash"]),
            str(it.get("uri") or ""),
            str(it.get("source", "")),
        )
        key = (dom, src, f"uri:{uri}" if uri else f"hash:{h}")
        old = stored[dom, src].get(uri) if uri else None
        unchanged = old is not None and old["content_hash"] == h
        if key in seen or unchanged or (old is None and not uri and h in known[dom]):
            plan.ids.append(-1)
            seen.add(key)
            continue
        seen.add(key)
        row = {k: v for k, v in it.items() if k != "thumbnail"}
        if old is not None:
            row["id"] = int(old["id"])
            plan.changed.append((i, row))
        else:
            row["id"] = next_id
            next_id += 1
            plan.new.append((i, row))
        plan.ids.append(int(row["id"]))
    return plan
