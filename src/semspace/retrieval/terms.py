"""Weighted multi-term queries: several texts, pictures, drawings, feature vectors or indexed items as one query.

A query term is one input with a weight (``QueryTerm``): a text, an image, a sketch or a feature vector, each
embedded in a domain of its own kind (the domain named by the term, else ``Searcher.default_domain(kind)``), with
the same preparation as a single query (``retrieval.inputs.query_input``), or an indexed item (its stored vector).
An image or item term may carry a modification: it is composed first, ``T(f(x), g(t))`` (TIRG, arXiv:1812.07119;
LTT, arXiv:1903.00793), and then weighted like any other term. The terms are combined in the shared space by the
normalised weighted sum (``combine_terms``)::

    z = N( sum_i w_i * N(z_i) ),     N(v) = v / ||v||                                   (1)

* each term is normalised first, so no domain (or the composer's output scale) dominates by its norm;
* the weights are the user's relative importance of the terms; a negative weight subtracts a direction, so items
  like that term score lower (Marqo's weighted multimodal queries, negative weights included);
* the sum is normalised, so the scores stay cosine similarities, comparable with a single query's.

One term of weight 1 is the single query itself (the embeddings are unit vectors). Nothing is learned here:
the only learned combination is the composer's, of an image (or item) and its modification. ``parse_term`` reads
the command line's ``KIND[@DOMAIN]:VALUE[=WEIGHT]``; ``Searcher.search_terms`` (``retrieval/search.py``) embeds,
combines and searches; docs/queries.md explains the rule.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from semspace.data.domains import InputKind
from semspace.errors import ConfigError, DataError
from semspace.retrieval.inputs import RawQuery

ITEM = "item"  # a term that is an indexed item (its id); every other kind is an ``InputKind`` value
TERM_KINDS = (*(k.value for k in InputKind), ITEM)
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)"
_WEIGHT = re.compile(rf"^\s*(?:{_NUMBER})\s*$", re.IGNORECASE)  # the text after a term's last '='
_HEAD = re.compile(r"^(?P<kind>[A-Za-z]+)(?:@(?P<domain>[^:@\s]+))?$")  # KIND[@DOMAIN], before the first ':'
SYNTAX = "KIND[@DOMAIN]:VALUE[=WEIGHT] (KIND: text, image, sketch or item)"
CANCEL_EPS = 1e-6  # a weighted sum shorter than this has no direction: the terms cancel out


@dataclass(frozen=True)
class QueryTerm:
    """One term of a multi-term query.

    Args:
        kind: ``"text"``, ``"image"``, ``"sketch"``, ``"features"`` (an ``InputKind``) or ``"item"``.
        value: a text; a picture (path, stream, ``PIL.Image``); a feature vector; an item id (``int``).
        weight: the term's relative importance, any finite number; negative pushes its direction away.
        domain: the task's domain to embed it in (default: ``Searcher.default_domain(kind)``); none for items.
        modify: a modification composed with the term before it is weighted (tasks that ``compose``).

    Raises:
        ConfigError: an unknown kind, a weight that is not a finite number, a domain on an item term.
        DataError: an item term whose value is not an integer id.
    """

    kind: str
    value: RawQuery | int
    weight: float = 1.0
    domain: str | None = None
    modify: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in TERM_KINDS:
            raise ConfigError(f"query term kind {self.kind!r} is unknown; expected one of {list(TERM_KINDS)}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float):
            raise ConfigError(f"query term weight {self.weight!r} is not a number")
        if not math.isfinite(self.weight):
            raise ConfigError(f"query term weight {self.weight} is not finite; give a finite number")
        if self.kind == ITEM:
            if self.domain is not None:
                raise ConfigError(f"an item term takes no domain (got {self.domain!r}): the item's own is used")
            if isinstance(self.value, bool) or not isinstance(self.value, int | np.integer):
                raise DataError(f"an item term's value is an item id (an integer), got {self.value!r}")

    def describe(self) -> dict[str, Any]:
        """The term as JSON: ``{"kind", "domain", "value", "weight", "modify"}`` (a picture given as an object
        and a vector are described, not copied)."""
        return {"kind": self.kind, "domain": self.domain, "value": describe_value(self.value),
                "weight": float(self.weight), "modify": self.modify}  # fmt: skip

    def label(self) -> str:
        """A short name for messages: ``text:a red chair=0.5`` (long values cut)."""
        value = str(describe_value(self.value))
        value = value if len(value) <= 60 else value[:57] + "..."
        where = f"@{self.domain}" if self.domain else ""
        return f"{self.kind}{where}:{value}={self.weight:g}"


def describe_value(value: Any) -> str | int:
    """A term's value for JSON and messages: texts and paths as they are, item ids as ints, else what it is."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str | Path):
        return str(value)
    if isinstance(value, Image.Image):
        return f"<picture {value.width}x{value.height}>"
    if isinstance(value, io.BytesIO):
        return f"<picture of {len(value.getvalue())} bytes>"
    if isinstance(value, np.ndarray | torch.Tensor | list):
        return f"<vector of {int(np.asarray(value).size)}>"
    return f"<{type(value).__name__}>"


def parse_term(spec: str) -> QueryTerm:
    """The command line's ``KIND[@DOMAIN]:VALUE[=WEIGHT]`` -> a ``QueryTerm``.

    The kind (and the optional domain) is what precedes the first ``:``, so a value may hold ``:``; the weight is
    what follows the value's last ``=`` when that is a number (``0.5``, ``-1``, ``2e-1``; ``nan`` and ``inf`` are
    read and refused), else the ``=`` belongs to the value and the weight is 1. A value that itself ends in
    ``=NUMBER`` takes an explicit weight: ``text:x=1=1`` is the text ``x=1`` with weight 1.

    Example:
        >>> parse_term("image:my photos/a:b=c.png=0.5")
        QueryTerm(kind='image', value='my photos/a:b=c.png', weight=0.5, domain=None, modify=None)
        >>> parse_term("item:42=-1").weight
        -1.0

    Raises:
        ConfigError: no ``KIND:`` before the value, an unknown kind, an empty value, a weight that is not finite.
        DataError: an item term whose value is not an integer id.
    """
    head, sep, rest = spec.partition(":")
    match = _HEAD.match(head.strip())
    if not sep or match is None:
        raise ConfigError(f"query term {spec!r}: expected {SYNTAX}, e.g. 'text:a red chair=0.5'")
    kind, domain = match["kind"].lower(), match["domain"]
    if kind not in TERM_KINDS:
        raise ConfigError(f"query term {spec!r}: kind {kind!r} is unknown; expected one of {list(TERM_KINDS)}")
    value, weight = rest, 1.0
    before, eq, after = rest.rpartition("=")
    if eq and _WEIGHT.match(after):
        value, weight = before.rstrip(), float(after)
    if not value.strip():
        raise ConfigError(f"query term {spec!r}: nothing after '{head}:'; expected {SYNTAX}")
    try:
        if kind == ITEM:
            if not re.fullmatch(r"\s*\d+\s*", value):
                raise DataError(f"an item term's value is an item id (an integer), got {value!r}")
            return QueryTerm(ITEM, int(value), weight, domain)
        return QueryTerm(kind, value, weight, domain)
    except (ConfigError, DataError) as e:
        raise type(e)(f"query term {spec!r}: {e}") from None


def term_from_dict(d: Mapping[str, Any], where: str = "term") -> QueryTerm:
    """A ``QueryTerm`` from JSON ``{"kind", "value", "weight"?, "domain"?, "modify"?}`` (for an API). A picture's
    ``value`` is whatever the caller resolved it to (a path or a stream of an uploaded file).

    Raises:
        ConfigError: a missing or unknown key, or a field of the wrong type (``where`` names the term).
    """
    unknown = sorted(set(d) - {"kind", "value", "weight", "domain", "modify"})
    if unknown or "kind" not in d or "value" not in d:
        raise ConfigError(f"{where}: expected keys kind, value and optionally weight, domain, modify; got {sorted(d)}")
    for key in ("domain", "modify"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {type(d[key]).__name__}")
    try:
        return QueryTerm(str(d["kind"]), d["value"], d.get("weight", 1.0), d.get("domain"), d.get("modify"))
    except (ConfigError, DataError) as e:
        raise type(e)(f"{where}: {e}") from None


def check_terms(terms: Sequence[QueryTerm]) -> list[QueryTerm]:
    """The terms as a list, refused when they cannot make a query.

    Raises:
        ConfigError: no terms, or every weight zero (the weighted sum would have no direction).
    """
    terms = list(terms)
    if not terms:
        raise ConfigError(f"a multi-term query needs at least one term ({SYNTAX})")
    if all(t.weight == 0 for t in terms):
        raise ConfigError(f"every query term has weight 0; give at least one term a non-zero weight ({SYNTAX})")
    return terms


def combine_terms(vectors: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """Equation (1) of the module docstring: ``(T, D)`` term embeddings and ``T`` weights -> a ``(1, D)`` unit query.

    Raises:
        DataError: a term embedding of zero length, or terms that cancel out (e.g. the same item at +1 and -1).
    """
    z = vectors.float()  # (T, D)
    norms = z.norm(dim=1, keepdim=True)  # (T, 1)
    if bool((norms <= 0).any()) or not bool(torch.isfinite(norms).all()):
        raise DataError("a query term embedded to a zero or non-finite vector; it has no direction to weight")
    w = torch.tensor([float(x) for x in weights], dtype=z.dtype, device=z.device)[:, None]  # (T, 1)
    total = (w * z / norms).sum(dim=0, keepdim=True)  # (1, D)
    length = float(total.norm())
    if length < CANCEL_EPS:
        raise DataError("the weighted query terms cancel out (their weighted sum is zero); change a weight or a term")
    return total / length  # (1, D), unit norm
