"""``GenerationView``: what one request reads, one generation of the index with the loaded model, and the
read-only answers the routes serve from it (info, searches, items, thumbnails, translation).

A request takes the view that is current when it starts (``deps.get_view``) and uses only that one, so it runs
wholly on one generation even when the service switches to a newer one meanwhile (``IndexFollower``). The view
holds its ``Searcher``, and with it the lease on its generation: that generation's files and thumbnails stay on
disk until the last request using it ends and drops it. Searches and translation run in the engine's model pool,
gallery pages in its read pool, and item lookups, thumbnails and ``info`` on the event loop (``ServiceEngine``: a
generation never changes, so ``info``'s counts are read once, when the view is made); the ``require_*`` and
``check_domains`` checks run on the event loop before. Nothing here writes the index: the service only reads it.
"""

from __future__ import annotations

import io
import time
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, cast

import torch

from semspace.capabilities import capabilities, require, supports
from semspace.data.domains import InputKind
from semspace.data.transforms import to_pil
from semspace.errors import ConfigError
from semspace.index import EmbeddingIndex
from semspace.retrieval import Searcher
from semspace.retrieval.inputs import domain_mismatches, query_input
from semspace.retrieval.search import SearchResult
from semspace.service.errors import ServiceError
from semspace.service.panels import panel_status
from semspace.service.settings import ServiceSettings
from semspace.service.uploads import MEDIA_TYPE, Picture, sniff_format
from semspace.version import __version__

ROWS_CACHED = 65_536  # item rows a view keeps (a few hundred bytes each)


def read_row(index: EmbeddingIndex, item_id: int) -> tuple[dict[str, Any] | None, Path | None]:
    """The item's row (None: not in this generation) and its thumbnail file (None: it has none)."""
    item = index.get_item(item_id)
    return item, (index.thumbnail_path(item_id) if item is not None else None)


class GenerationView:
    """One generation of the index and the loaded model, as the requests that started on it see it."""

    def __init__(self, searcher: Searcher, settings: ServiceSettings) -> None:
        self.searcher, self.settings = searcher, settings
        self.index: EmbeddingIndex = searcher.index
        self._about = self._describe()  # info's answer but the reload error (the generation never changes)
        # an item's row and thumbnail file, read once per generation (it never changes; its thumbnails stay while
        # it is leased), so item, thumbnail and search answers do not query SQLite again for an item seen before
        # (a function of the index, not a method: no reference cycle keeps a dropped view, and its lease, alive)
        self._rows = lru_cache(maxsize=ROWS_CACHED)(partial(read_row, self.index))

    @property
    def generation(self) -> str:
        """The generation served (``gen-NNNNNN``; ``""`` for an index of the flat layout of semspace 0.1-0.2)."""
        return self.index.generation

    @property
    def domain_counts(self) -> dict[str, int]:
        """Items of each collection of this generation (read once, when the view was made)."""
        return dict(self._about["index"]["domains"])

    def reopened(self) -> GenerationView:
        """A view of the folder's current generation with the same model (``Searcher.reopened``; its errors)."""
        return GenerationView(self.searcher.reopened(), self.settings)

    # ---- what the run can do ---------------------------------------------------------------------
    def info(self, reload_error: str | None = None) -> dict[str, Any]:
        """The run, its domains, the index (with the generation served and why a newer one could not be, if so) and
        the limits: everything the page needs to lay itself out."""
        return {**self._about, "index": {**self._about["index"], "reload_error": reload_error}}

    def _describe(self) -> dict[str, Any]:
        s, task, domains = self.searcher, self.searcher.task, self.searcher.domains
        counts = self.index.domain_counts()
        defaults = {}
        for kind in InputKind:
            try:
                defaults[kind.value] = s.default_domain(kind)
            except ConfigError:
                pass
        modify = list(cast(Any, task).composable_domains()) if supports(task, "compose") else []
        return {
            "version": __version__,
            "task": str(getattr(task, "name", type(task).__name__)),
            "task_title": str(getattr(task, "title", "") or getattr(task, "name", type(task).__name__)),
            "capabilities": capabilities(task),
            "panels": panel_status(task, domains),
            "modify_domains": modify,
            "domains": [
                {"name": n, "kind": spec.kind.value, "embed_dim": int(spec.embed_dim), "items": int(counts.get(n, 0))}
                for n, spec in domains.items()
            ],  # fmt: skip
            "default_domains": defaults,
            "index": {
                "items": len(self.index),
                "factory": str(self.index.factory),
                "dim": self.index.dim,
                "domains": counts,
                "generation": self.generation,
                "reload_error": None,
            },  # fmt: skip
            "limits": {
                "default_k": self.settings.default_k,
                "max_k": self.settings.max_k,
                "max_upload_bytes": self.settings.max_upload_bytes,
                "max_pixels": self.settings.max_pixels,
                "max_text_chars": self.settings.max_text_chars,
                "page_size_max": self.settings.page_size_max,
            },  # fmt: skip
            "auth": self.settings.api_token is not None,
        }

    def require_kind(self, kind: InputKind, what: str) -> None:
        """409 unless the task embeds a domain of ``kind``."""
        if not any(spec.kind is kind for spec in self.searcher.domains.values()):
            kinds = ", ".join(f"{n} ({spec.kind.value})" for n, spec in self.searcher.domains.items())
            raise ServiceError(409, f"this run cannot {what}: its task embeds no {kind.value} domain ({kinds})")

    def require_capability(self, name: str) -> Any:
        """The task when it supports ``name``; 409 with what it can do otherwise."""
        try:
            return require(self.searcher.task, name)
        except ConfigError as exc:
            raise ServiceError(409, f"this run cannot {name.replace('_', ' ')}: {exc}") from None

    def check_domains(self, query_domain: str | None, kind: InputKind | None, in_domains: list[str] | None) -> None:
        """400 for a query domain the task lacks (or of another kind) and for collections the index lacks."""
        domains = self.searcher.domains
        if query_domain is not None:
            if query_domain not in domains:
                raise ServiceError(400, f"domain {query_domain!r}: the run's task embeds {sorted(domains)}")
            if kind is not None and domains[query_domain].kind is not kind:
                raise ServiceError(400, f"domain {query_domain!r} is of kind {domains[query_domain].kind.value}, not "
                                        f"{kind.value}; leave domain out to use the default one")  # fmt: skip
        held = self.index.domain_names()
        missing = [d for d in in_domains or [] if d not in held]
        if missing:
            raise ServiceError(400, f"in_domain {missing}: the index holds {sorted(held)}")

    # ---- queries (run in the model pool) --------------------------------------------------------------
    def search(self, query: Any, *, kind: InputKind, domain: str | None, modify: str | None, k: int,
               in_domains: list[str] | None, keep_query: bool, sketch_check: bool = True,
               where: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        start = time.perf_counter()
        dom = domain or self._about["default_domains"].get(kind.value) or self.searcher.default_domain(kind)
        result = self.searcher.search(query, domain=dom, modify=modify, k=k, in_domains=in_domains,
                                      keep_query=keep_query, sketch_check=sketch_check, where=where)  # fmt: skip
        return self._answer(result, {"kind": kind.value, "domain": dom, "modify": modify, "filter": where}, start)

    def search_terms(self, terms: list[Any], *, k: int, in_domains: list[str] | None, keep_query: bool,
                     where: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        """A weighted multi-term query (``Searcher.search_terms``)."""
        start = time.perf_counter()
        result = self.searcher.search_terms(terms, k=k, in_domains=in_domains, keep_query=keep_query, where=where)
        query = {"kind": "terms", "domain": result.query_domain, "terms": result.terms, "filter": where}
        return self._answer(result, query, start)

    def search_item(self, item_id: int, *, modify: str | None, k: int, in_domains: list[str] | None,
                    keep_query: bool, where: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        start = time.perf_counter()
        item = self._rows(item_id)[0]
        if item is None:
            raise ServiceError(404, f"item {item_id} is not in the index ({len(self.index)} items); pick an id "
                                    "from /api/items or a search result")  # fmt: skip
        result = self.searcher.search_item(item_id, modify=modify, k=k, in_domains=in_domains, keep_query=keep_query,
                                           where=where)  # fmt: skip
        query = {"kind": "item", "domain": str(item["domain"]), "modify": modify, "item": self._item(item),
                 "filter": where}  # fmt: skip
        return self._answer(result, query, start)

    def _answer(self, result: SearchResult, query: dict[str, Any], start: float) -> dict[str, Any]:
        meta = self.index.items([h.id for h in result.hits])
        hits = []
        for rank, h in enumerate(result.hits, start=1):
            item = meta.get(h.id) or {"id": h.id, "domain": h.domain, "uri": h.uri, "label": h.label,
                                      "caption": h.caption}  # fmt: skip
            hits.append({"rank": rank, "score": float(h.score), **self._item(item)})
        return {"query": query, "hits": hits, "unknown_words": result.unknown_words, "notes": result.notes,
                "excluded": result.excluded, "searched_domains": result.searched_domains,
                "seconds": round(time.perf_counter() - start, 4)}  # fmt: skip

    # ---- items (answered on the event loop; pages in the read pool) -----------------------------------
    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as the API shows it; its picture URLs name its content (``?v=``), so a browser's cached copy is
        not shown for an item a rebuild re-embedded in place (same id, new content)."""
        i = int(item["id"])
        uri = str(item.get("uri") or "")
        v = f"?v={str(item.get('content_hash') or '')[:16]}"
        return {"id": i, "domain": str(item.get("domain", "")), "label": str(item.get("label") or ""),
                "caption": str(item.get("caption") or ""), "name": Path(uri).name if uri else "",
                "thumbnail": f"/api/items/{i}/thumbnail{v}" if self._rows(i)[1] else None,
                "image": f"/api/items/{i}/image{v}" if self._file_of(item) else None}  # fmt: skip

    @staticmethod
    def _file_of(item: dict[str, Any]) -> Path | None:
        """The item's source file: only a recorded absolute path of an existing file (never one built from input)."""
        uri = str(item.get("uri") or "")
        if not uri.startswith("/"):
            return None
        p = Path(uri)
        return p if p.is_file() else None

    def get_item(self, item_id: int) -> dict[str, Any]:
        item = self._rows(item_id)[0]
        if item is None:
            raise ServiceError(404, f"item {item_id} is not in the index ({len(self.index)} items)")
        return self._item(item)

    def list_items(self, domain: str | None, offset: int, limit: int) -> dict[str, Any]:
        held = self.index.domain_names()
        if domain is not None and domain not in held:
            raise ServiceError(400, f"domain {domain!r}: the index holds {sorted(held)}")
        ids = sorted(self.index.ids_in_domains([domain] if domain else list(held)))
        page = ids[offset : offset + limit]
        meta = self.index.items(page)
        return {"total": len(ids), "offset": offset, "items": [self._item(meta[i]) for i in page if i in meta]}

    def thumbnail(self, item_id: int) -> tuple[bytes, str]:
        """PNG bytes of the item's thumbnail and an ETag (its content hash)."""
        item, path = self._rows(item_id)
        if item is None or path is None:
            what = "is not in the index" if item is None else "has no thumbnail (a text or feature item)"
            raise ServiceError(404, f"item {item_id} {what}")
        return path.read_bytes(), str(item["content_hash"])

    def image_file(self, item_id: int) -> tuple[Path, str]:
        """The item's source file and its media type, sniffed from its bytes."""
        item = self._rows(item_id)[0]
        if item is None:
            raise ServiceError(404, f"item {item_id} is not in the index")
        path = self._file_of(item)
        if path is None:
            raise ServiceError(404, f"item {item_id} was not indexed from a file that still exists (it was rendered "
                                    f"or moved); its thumbnail is /api/items/{item_id}/thumbnail")  # fmt: skip
        with open(path, "rb") as fh:
            fmt = sniff_format(fh.read(16))
        if fmt is None:
            raise ServiceError(404, f"item {item_id}'s file is not a picture this service serves")
        return path, MEDIA_TYPE[fmt]

    # ---- translation (run in the model pool) -----------------------------------------------------------
    def translation_domains(self, direction: str) -> tuple[str, str]:
        """(content domain, exemplar domain) of ``direction`` (``a2b``: the task's first image domain, then its
        second); a task with one image domain reads both pictures as that one."""
        if direction not in ("a2b", "b2a"):
            raise ServiceError(422, f"direction {direction!r}: expected a2b or b2a")
        images = [n for n, spec in self.searcher.domains.items() if spec.kind is InputKind.IMAGE]
        if not images:
            raise ServiceError(409, "this run cannot translate: its task has no image domain")
        a, b = (images[0], images[1]) if len(images) > 1 else (images[0], images[0])
        return (a, b) if direction == "a2b" else (b, a)

    def translate(self, content: Picture, exemplar: Picture, direction: str = "a2b") -> bytes:
        """PNG bytes of ``content`` in the style of ``exemplar``, each read with its own domain's preprocessing
        (``translation_domains``); a picture that looks like the other domain by the run's training colours
        (``guess_domain``, where the task has it) is refused with 422, naming the domain expected."""
        task = self.require_capability("translate")
        names = self.translation_domains(direction)
        xs = []
        for role, pic, name in zip(("content", "exemplar"), (content, exemplar), names, strict=True):
            spec = self.searcher.domains[name]
            pre = spec.preprocess
            assert pre is not None  # image domains always have one
            x = query_input(spec, pic.decode(background=pre.background, channels=pre.channels,
                                             max_pixels=self.settings.max_pixels)).to(self.searcher.device)  # fmt: skip
            got = domain_mismatches(task, x, name)[0] if names[0] != names[1] else None
            if got is not None:
                other = "b2a" if direction == "a2b" else "a2b"
                raise ServiceError(
                    422,
                    f"the {role} looks like domain {got!r}, but direction {direction} expects the {role} from "
                    f"domain {name!r}; swap the pictures or use direction {other}",
                )
            xs.append(x)  # (1, C, H, W)
        with torch.no_grad():
            out = task.translate(xs[0], xs[1], direction=direction)  # (1, C, H, W)
        buf = io.BytesIO()
        to_pil(out[0].float().cpu(), self.searcher.domains[names[1]].preprocess).save(buf, format="PNG")
        return buf.getvalue()
