"""Request and response models of the JSON API (they make its OpenAPI schema, ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    status: str = Field(description="'ok' when the index and model are loaded")
    version: str
    items: int = Field(description="items in the index")


class Item(BaseModel):
    """One indexed item as the page shows it (no server paths: ``name`` is the file name only)."""

    id: int
    domain: str
    label: str
    caption: str
    name: str = Field(description="the source file's name, or the rendered item's key")
    thumbnail: str | None = Field(description="URL of its thumbnail, or null (text and feature items)")
    image: str | None = Field(description="URL of its full picture when it was indexed from a file, else null")


class Hit(Item):
    rank: int
    score: float = Field(description="cosine similarity to the query")


class Query(BaseModel):
    kind: str = Field(description="'image', 'sketch', 'text', 'item' or 'terms' (a weighted multi-term query)")
    domain: str = Field(description="the task's domain the query was read as ('+'-joined for terms)")
    modify: str | None = None
    item: Item | None = None
    terms: list[dict[str, Any]] | None = Field(default=None, description="a terms query's terms as searched")
    filter: list[str] | None = Field(default=None, description="the filter's conditions, when one was given")


class SearchAnswer(BaseModel):
    query: Query
    hits: list[Hit]
    unknown_words: list[str] = Field(description="words of the modification the model does not know (ignored)")
    notes: list[str] = Field(description="what a person should know about the answer, one line each")
    excluded: list[int] = Field(description="ids left out as the query itself")
    searched_domains: list[str]
    seconds: float


class ItemPage(BaseModel):
    total: int
    offset: int
    items: list[Item]


class Info(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str
    task: str
    task_title: str = Field(description="what the run's method is, in words (the task's title, else its name)")
    capabilities: list[str]
    panels: list[dict[str, Any]]
    modify_domains: list[str]
    domains: list[dict[str, Any]]
    default_domains: dict[str, str]
    index: dict[str, Any]
    limits: dict[str, int]
    auth: bool


class Reload(BaseModel):
    """The answer of ``POST /api/reload``: the generations served before and after it."""

    before: str = Field(description="the generation served when the request came ('gen-NNNNNN'; '' for the flat "
                        "layout of semspace 0.1-0.2)")  # fmt: skip
    after: str = Field(description="the generation served now: requests that start from here on read it")
    changed: bool = Field(description="whether the service switched to another generation")
    items: int = Field(description="items in the generation served now")


def text_query_model(*, default_k: int, max_k: int, max_chars: int) -> type[BaseModel]:
    """The body of ``POST /api/search/text`` with this service's limits in its schema."""

    class TextQuery(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: Annotated[str, Field(min_length=1, max_length=max_chars, description="the query text")]
        k: Annotated[int, Field(ge=1, le=max_k, description="number of results")] = default_k
        domain: Annotated[str | None, Field(max_length=200, description="the task's text domain to read it as")] = None
        in_domains: Annotated[list[str] | None, Field(max_length=64, description="collections to search")] = None
        keep_query: bool = False
        filter: FILTER = None

    return TextQuery


FILTER = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=300)]] | None,
    Field(max_length=32, description="keep only items meeting every condition: 'year>=2000', 'place=home', "
          "'source=NAME', 'path=*/cats/*' (fields from `index build --fields`; docs/queries.md)"),
]  # fmt: skip


def terms_query_model(*, default_k: int, max_k: int, max_chars: int, max_picture_bytes: int) -> type[BaseModel]:
    """The body of ``POST /api/search/terms``: weighted terms (``retrieval/terms.py``) with this service's limits."""

    class Term(BaseModel):
        model_config = ConfigDict(extra="forbid")

        kind: Literal["text", "image", "sketch", "item"] = Field(description="what the term is")
        text: Annotated[str | None, Field(max_length=max_chars, description="a text term's text")] = None
        item: Annotated[int | None, Field(ge=0, le=2**53, description="an item term's id")] = None  # JSON-safe
        data: Annotated[
            str | None,
            Field(max_length=(max_picture_bytes * 4) // 3 + 4,
                  description="an image or sketch term's picture, base64-encoded (PNG, JPEG, GIF, WebP, BMP, TIFF)"),
        ] = None  # fmt: skip
        weight: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False,
                                       description="relative importance; negative pushes away")] = 1.0  # fmt: skip
        domain: Annotated[str | None, Field(max_length=200, description="the task's domain to read it as")] = None
        modify: Annotated[str | None, Field(max_length=max_chars, description="a modification of an image or "
                                            "item term, composed before weighting")] = None  # fmt: skip

    class TermsQuery(BaseModel):
        model_config = ConfigDict(extra="forbid")

        terms: Annotated[list[Term], Field(min_length=1, max_length=16, description="the weighted terms")]
        k: Annotated[int, Field(ge=1, le=max_k, description="number of results")] = default_k
        in_domains: Annotated[list[str] | None, Field(max_length=64, description="collections to search")] = None
        keep_query: bool = False
        filter: FILTER = None

    return TermsQuery
