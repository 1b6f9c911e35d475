"""``Searcher``: an index plus the model that built it, answering queries of any domain the task embeds.

A query names its domain (or takes the default one of its kind) and is prepared by that domain's record
(``retrieval.inputs.query_input``: a picture through the domain's own preprocessing, a text as it is, a feature
vector as it is), embedded by the task, optionally modified by a text when the task composes (TIRG,
arXiv:1812.07119; LTT, arXiv:1903.00793: ``T(f(x), g(t))``; the ``compose`` capability of
``capabilities.py``), and searched against one collection of the index, a list of them, or all. A query may also
be several weighted terms (texts, pictures, drawings, indexed items; ``search_terms``), each embedded in its own
domain and combined by the normalised weighted sum of ``retrieval/terms.py``.

By default the query's own item is left out of its hits, as the papers' protocols remove a query's source image
from its ranking: an indexed item with the same content (``inputs.query_hashes``: the file's bytes, or the model
input it makes) is not returned, and ``SearchResult.notes`` says so (``keep_query=True`` keeps it). The notes also
say when ``k`` is more than the searched domains hold and when a blank modification made a plain search.
``semspace search`` and the service use this class; ``retrieval/indexing.py`` builds the indexes it reads. A
long-lived user (the service) follows a rebuilt index with ``reopened()``: a new ``Searcher`` on the folder's
current generation that shares the loaded task, while this one keeps reading (and leasing) its own generation.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image

from semspace.capabilities import capabilities, require
from semspace.data.domains import DomainSpec, InputKind
from semspace.errors import CheckpointError, ConfigError, DataError
from semspace.eval.figures import retrieval_grid
from semspace.index import EmbeddingIndex
from semspace.models.inference_fast import image_batch
from semspace.retrieval.inputs import RawQuery, query_hashes, query_input
from semspace.retrieval.runs import checkpoint_path, load_run, model_info_for, query_device
from semspace.retrieval.sketch_classes import index_labels, infers_classes, sketch_candidates
from semspace.retrieval.terms import ITEM, QueryTerm, check_terms, combine_terms
from semspace.types import SearchHit

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """The answer to one query: ranked hits, unknown words of the modification, the domains involved."""

    hits: list[SearchHit]
    unknown_words: list[str] = field(default_factory=list)
    query_domain: str = ""
    searched_domains: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a person should know about the answer (one line each)
    excluded: list[int] = field(default_factory=list)  # ids left out as the query itself
    terms: list[dict[str, Any]] = field(default_factory=list)  # a multi-term query's terms as searched (domains named)


class Searcher:
    """An index plus the model that built it, loaded once; answers queries of every domain the task embeds.

    Args:
        index_dir: the index folder.
        run_dir: the run to embed queries with (default: the checkpoint recorded in the index); it must be
            the model that built the index, with the same domain records.
        device: where to embed queries.

    Raises:
        DataError: no index at ``index_dir``.
        CheckpointError: the recorded checkpoint is gone and no ``run_dir`` was given.
        IndexMismatchError: ``run_dir`` holds another model than the one that built the index.

    Example:
        >>> s = Searcher("runs/demo/index")
        >>> s.search_image("runs/demo/queries/query_0.png", modify="make the red cube blue", k=5).hits[0].uri
        >>> s.search("a red cube", domain="text", k=5, in_domains=["render3d"])
        >>> s.search_terms([QueryTerm("image", "photo.png"), QueryTerm("text", "red", 0.5)], k=5)
    """

    def __init__(self, index_dir: str | os.PathLike[str], *, run_dir: str | os.PathLike[str] | None = None,
                 device: str = "cpu") -> None:  # fmt: skip
        self.index = EmbeddingIndex.open(index_dir)
        built = self.index.model_info
        if run_dir is None:
            ckpt = Path(built.checkpoint)
            if not ckpt.is_file():
                raise CheckpointError(
                    f"index {index_dir} was built with checkpoint {ckpt}, which no longer exists; "
                    "pass --run-dir with the run that built it"
                )
        else:
            ckpt = checkpoint_path(run_dir)
        self.device = query_device(device)
        self.task, ckpt = load_run(ckpt, self.device)
        self.domains: dict[str, DomainSpec] = self.task.domains()
        self.model_info = model_info_for(ckpt, self.task)  # the loaded weights' identity (sha256 read once)
        self.index.check_model(self.model_info, self.domains)
        self.capabilities = capabilities(self.task)

    def reopened(self) -> Searcher:
        """A ``Searcher`` on the current generation of the same index folder, sharing this one's loaded task (no
        weights are read again); the new generation is checked against the model as at start-up. This one is
        unchanged: it keeps its generation (and the lease on it) until it is dropped.

        Raises:
            DataError: the folder holds no readable index now (removed, or half-written by hand).
            IndexMismatchError: it was rebuilt with another model or another preprocessing of a domain.
        """
        index = EmbeddingIndex.open(self.index.root)
        try:
            index.check_model(self.model_info, self.domains)
        except BaseException:
            index.close()
            raise
        new = copy.copy(self)  # task, device, domains, capabilities and model record shared
        new.index = index
        return new

    # ---- what can be asked -------------------------------------------------------------------------
    def default_domain(self, kind: InputKind | str) -> str:
        """The task's domain of ``kind`` that queries use by default: the one with the most items in the index,
        else the task's last domain of that kind.

        Raises:
            ConfigError: the task has no domain of that kind.
        """
        kind = InputKind(kind)
        mine = [name for name, spec in self.domains.items() if spec.kind is kind]
        if not mine:
            kinds = {name: spec.kind.value for name, spec in self.domains.items()}
            raise ConfigError(f"task {self.task.name!r} embeds no {kind.value} domain; its domains: {kinds}")
        counts = self.index.domain_counts()  # largest first
        indexed = [d for d in counts if d in mine]
        return indexed[0] if indexed else mine[-1]

    # ---- queries ------------------------------------------------------------------------------------
    def search(
        self,
        query: RawQuery,
        *,
        domain: str,
        modify: str | None = None,
        k: int = 10,
        in_domains: list[str] | None = None,
        keep_query: bool = False,
        classes: list[str] | None = None,
        sketch_check: bool = True,
        where: list[str] | None = None,
    ) -> SearchResult:
        """Nearest items to one query of ``domain``, optionally modified by a text.

        Args:
            query: a picture (path, stream, ``PIL.Image``) for image and sketch domains, a string for text
                domains, a vector for feature domains.
            domain: the task's domain the query belongs to (it decides how the query is read).
            modify: a modification ("make the red cube blue") for tasks that compose; blank: a plain search.
            k: number of results.
            in_domains: collections of the index to search (default: all).
            keep_query: keep the query's own item (same content) among the hits.
            classes: a sketch's candidate classes, for a task that infers a sketch's class (SSGN; default: the
                classes the searched collections hold, ``retrieval/sketch_classes.py``).
            sketch_check: refuse blank drawings and photos given as sketches (``data/sketch_input.py``).
            where: a filter: only items meeting every condition (``index.fields``: ``"year>=2000"``,
                ``"source=NAME"``, ``"path=*/cats/*"``), selected inside the vector search.

        Raises:
            ConfigError: an unknown domain, ``k <= 0``, or a modification the task cannot apply to ``domain``.
        """
        spec = self._domain(domain)
        said = self._sketch_classes(spec, in_domains, classes)
        z, hashes = self._embed(spec, query, classes=said[0], sketch_check=sketch_check, in_domains=in_domains)
        result = self._answer(z, modify, k, spec.name, in_domains, set() if keep_query else hashes, where)
        result.notes[:0] = said[1]
        return result

    def search_image(self, image: RawQuery, *, modify: str | None = None, k: int = 10, query_domain: str | None = None,
                     in_domains: list[str] | None = None, keep_query: bool = False, where: list[str] | None = None
                     ) -> SearchResult:  # fmt: skip
        """``search`` with a picture of an image domain (default: ``default_domain("image")``)."""
        return self.search(image, domain=query_domain or self.default_domain(InputKind.IMAGE), modify=modify, k=k,
                           in_domains=in_domains, keep_query=keep_query, where=where)  # fmt: skip

    def search_sketch(self, sketch: RawQuery, *, k: int = 10, query_domain: str | None = None,
                      in_domains: list[str] | None = None, keep_query: bool = False, classes: list[str] | None = None,
                      sketch_check: bool = True, where: list[str] | None = None) -> SearchResult:  # fmt: skip
        """``search`` with a drawing of a sketch domain (default: ``default_domain("sketch")``)."""
        return self.search(sketch, domain=query_domain or self.default_domain(InputKind.SKETCH), k=k,
                           in_domains=in_domains, keep_query=keep_query, classes=classes,
                           sketch_check=sketch_check, where=where)  # fmt: skip

    def search_text(self, text: str, *, k: int = 10, query_domain: str | None = None,
                    in_domains: list[str] | None = None, keep_query: bool = False, where: list[str] | None = None
                    ) -> SearchResult:  # fmt: skip
        """``search`` with a text of a text domain (default: ``default_domain("text")``)."""
        return self.search(text, domain=query_domain or self.default_domain(InputKind.TEXT), k=k,
                           in_domains=in_domains, keep_query=keep_query, where=where)  # fmt: skip

    def search_item(self, item_id: int, modify: str | None = None, k: int = 10, in_domains: list[str] | None = None,
                    keep_query: bool = False, where: list[str] | None = None) -> SearchResult:  # fmt: skip
        """Nearest items to an indexed item (its stored vector), optionally modified by a text; the item itself (and
        the items of the same content) are left out unless ``keep_query``."""
        item = self.index.get_item(item_id)
        z = torch.from_numpy(self.index.reconstruct(item_id))[None].to(self.device)  # (1, D)
        own = {str(item["content_hash"])} if item and not keep_query else set()
        return self._answer(z, modify, k, str(item["domain"]) if item else "", in_domains, own, where)

    def search_terms(self, terms: Sequence[QueryTerm], *, k: int = 10, in_domains: list[str] | None = None,
                     keep_query: bool = False, where: list[str] | None = None) -> SearchResult:  # fmt: skip
        """Nearest items to a weighted combination of terms (``retrieval/terms.py``): each term embedded in its own
        domain (or its item's stored vector), composed with its modification if it has one, then
        ``z = N(sum_i w_i N(z_i))``. The items identical to a term of positive weight are left out unless
        ``keep_query``; ``SearchResult.terms`` lists the terms with the domains they were embedded in.

        Example:
            >>> s.search_terms([QueryTerm("image", "photo.png"), QueryTerm("text", "red", 0.5),
            ...                 QueryTerm("item", 42, -1.0)], k=5)

        Raises:
            ConfigError: no terms, every weight zero, a kind the task embeds no domain of, a domain of another
                kind than its term, a modification the task cannot apply (the message names the term).
            DataError: an unreadable input, an unknown item id, terms that cancel out.
        """
        terms = check_terms(terms)
        rows: list[torch.Tensor] = []  # (D,) each
        own: set[str] = set()
        unknown: list[str] = []
        notes: list[str] = []
        described: list[dict[str, Any]] = []
        for i, term in enumerate(terms, start=1):
            try:
                z, dom, hashes, told = self._term(term, in_domains)
                notes += [f"term {i}: {n}" for n in told]
                if term.modify is not None:
                    z, words, said = self._modified(z, term.modify, dom)
                    unknown += [w for w in words if w not in unknown]
                    notes += [f"term {i}: {n}" for n in said]
            except (ConfigError, DataError) as e:
                raise type(e)(f"query term {i} ({term.label()}): {e}") from None
            rows.append(z[0])
            if term.weight > 0 and not keep_query:
                own |= hashes
            described.append({**term.describe(), "domain": dom})
        z = combine_terms(torch.stack(rows), [t.weight for t in terms])  # (1, D)
        doms = "+".join(dict.fromkeys(d["domain"] for d in described))
        result = self._answer(z, None, k, doms, in_domains, own, where)
        result.unknown_words, result.notes, result.terms = unknown, notes + result.notes, described
        return result

    def _term(self, term: QueryTerm, in_domains: list[str] | None) -> tuple[torch.Tensor, str, set[str], list[str]]:
        """One term's ``(1, D)`` embedding, its domain, the content hashes of its own items and notes (a drawing's
        candidate classes, as for a single sketch query)."""
        if term.kind == ITEM:
            item_id = int(term.value)  # type: ignore[arg-type]
            z = torch.from_numpy(self.index.reconstruct(item_id))[None].to(self.device)  # (1, D)
            item = self.index.get_item(item_id) or {}
            return z, str(item.get("domain", "")), {str(item["content_hash"])} if item else set(), []
        kind = InputKind(term.kind)
        spec = self._domain(term.domain or self.default_domain(kind))
        if spec.kind is not kind and not (spec.kind.is_visual and kind.is_visual):
            raise ConfigError(f"domain {spec.name!r} takes {spec.kind.value} inputs, not {kind.value}")
        classes, told = self._sketch_classes(spec, in_domains, None)
        z, hashes = self._embed(spec, cast(RawQuery, term.value), classes=classes, in_domains=in_domains)
        return z, spec.name, hashes, told  # query_input checked that the value fits the kind

    def _embed(self, spec: DomainSpec, query: RawQuery, *, classes: list[str] | None = None, sketch_check: bool = True,
               in_domains: list[str] | None = None) -> tuple[torch.Tensor, set[str]]:  # fmt: skip
        """One raw query of ``spec`` -> its ``(1, D)`` embedding and the content hashes an indexed copy may have;
        a drawing of a task that infers its class is embedded among ``classes`` (default: the index's)."""
        x = query_input(spec, query)
        hashes = query_hashes(spec, query, x)
        if not isinstance(x, list):
            x = image_batch(x.to(self.device))  # a CPU image in channels_last (models.inference_fast)
        with torch.inference_mode():
            if spec.kind is InputKind.SKETCH and infers_classes(self.task):
                classes = classes if classes is not None else self._sketch_classes(spec, in_domains, None)[0]
                z = cast(Any, self.task).embed_sketch(x, classes, check=sketch_check)  # (1, D)
            else:
                z = self.task.embed(spec.name, x)  # (1, D)
        return z.clone(), hashes  # a normal tensor again (inference tensors refuse later in-place use)

    def _sketch_classes(self, spec: DomainSpec, in_domains: list[str] | None,
                        classes: list[str] | None) -> tuple[list[str] | None, list[str]]:  # fmt: skip
        """A sketch query's candidate classes and notes (``retrieval/sketch_classes.py``); the index's labels are
        read once per generation and collection set."""
        if spec.kind is not InputKind.SKETCH:
            if classes:
                raise ConfigError(f"--classes applies to sketch queries, not to domain {spec.name!r}")
            return None, []
        labels: list[str] = []
        if infers_classes(self.task) and not classes:
            where = sorted(in_domains or self.index.domain_names())
            key = (self.index.generation, tuple(where))
            cache = self.__dict__.setdefault("_labels", {})
            if key not in cache:
                cache[key] = index_labels(self.index, where)
            labels = cache[key]
        return sketch_candidates(self.task, labels, classes)

    def _domain(self, name: str) -> DomainSpec:
        if name not in self.domains:
            kinds = {n: s.kind.value for n, s in self.domains.items()}
            raise ConfigError(f"query domain {name!r}: task {self.task.name!r} embeds {kinds}")
        return self.domains[name]

    def _answer(self, z: torch.Tensor, modify: str | None, k: int, dom: str, in_domains: list[str] | None,
                own: set[str], where: list[str] | None = None) -> SearchResult:  # fmt: skip
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        unknown: list[str] = []
        notes: list[str] = []
        if modify is not None:
            z, unknown, notes = self._modified(z, modify, dom)
        searched = list(in_domains) if in_domains else self.index.domain_names()
        same = set(self.index.ids_with_hashes(own, searched)) if own else set()
        hits = self.index.search(z.float().cpu().numpy(), k + len(same), domains=in_domains or None, where=where)[0]
        left_out = [h.id for h in hits if h.id in same]  # hits meet the filter: so do these
        hits = [h for h in hits if h.id not in same][:k]
        if left_out:
            notes.append(f"left out {len(left_out)} hit(s) identical to the query (id {', '.join(map(str, left_out))}; "
                         "--keep-query keeps them)")  # fmt: skip
        if len(hits) < k:  # fewer than asked: counted only then (a count reads every item of the searched domains)
            notes += self._too_few(k, searched, in_domains, same, where)
        return SearchResult(hits=hits, unknown_words=unknown, query_domain=dom, searched_domains=searched,
                            notes=notes, excluded=left_out)  # fmt: skip

    def _too_few(self, k: int, searched: list[str], in_domains: list[str] | None, same: set[int],
                 where: list[str] | None) -> list[str]:  # fmt: skip
        """The note for a ``k`` beyond what the searched domains (and the filter) hold, less the query's own items."""
        if where:
            kept = self.index.ids_matching(where, in_domains or None)
            held, same = len(kept), same & set(kept.tolist())
        else:
            held = sum(n for d, n in self.index.domain_counts().items() if d in searched)
        if k <= held - len(same):
            return []
        which = f" meeting the filter {' '.join(where)}" if where else ""
        return [f"asked for {k} results; the searched domain(s) {', '.join(searched)} hold {held} item(s)" + which
                + (f", {len(same)} of them the query itself" if same else "")]  # fmt: skip

    def _modified(self, z: torch.Tensor, modify: str, dom: str) -> tuple[torch.Tensor, list[str], list[str]]:
        """``T(f(x), g(t))``: the query ``z (1, D)`` of ``dom`` composed with ``modify`` (unchanged when it is
        blank), the modification's unknown words and the notes to give."""
        if not modify.strip():
            return z, [], ["the modification is empty: this is a plain search"]
        composer = require(self.task, "compose")
        can = composer.composable_domains()
        if dom not in can:
            raise ConfigError(
                f"the composer of task {self.task.name!r} modifies queries of domain(s) {can}, not of domain "
                f"{dom!r}; give the query as one of those (--query-domain) or search without --modify"
            )
        unknown = composer.unknown_words([modify])
        if unknown:
            logger.info("unknown word(s) in the modification, ignored by the model: %s", ", ".join(unknown))
        with torch.no_grad():
            z = composer.compose(z, [modify])  # (1, D)
        return z, unknown, []

    # ---- pictures ------------------------------------------------------------------------------------
    def result_grid(
        self,
        result: SearchResult,
        query: Image.Image | None = None,
        *,
        caption: str | None = None,
        relevant: list[bool | None] | None = None,
        per_row: int = 10,
    ) -> Image.Image:
        """The query picture (a blank square for text or vector queries) and the thumbnails of its hits with their
        scores, ``per_row`` to a line (``eval.figures.retrieval_grid``); ``relevant`` frames hits green/red (default
        grey)."""
        blank = Image.new("RGB", (64, 64), (200, 200, 200))
        thumbs = [self.index.thumbnail(h.id) or blank for h in result.hits]
        marks = relevant if relevant is not None else [None] * len(result.hits)
        first = query if query is not None else Image.new("RGB", (64, 64), (255, 255, 255))
        return retrieval_grid([first], [thumbs], [marks], scores=[[h.score for h in result.hits]],
                              captions=[caption] if caption else None, per_row=per_row)  # fmt: skip
