"""The OpenAPI schema, made truthful where FastAPI's generated one is not (schemathesis checks it,
tests/service/test_schema.py):

* a multipart form cannot send ``null``: an optional form field is optional, not nullable, so the ``null``
  alternative FastAPI writes for ``X | None = None`` form fields is removed (a client that sent ``"null"`` would be
  refused with 422);
* ``POST /api/search`` takes exactly one query, ``image`` or ``item_id`` (and ``domain`` only with ``image``): the
  form's schema says so (``oneOf``), as the route checks (422 otherwise);
* a text query must hold a non-blank character (``pattern``), as the route checks.

The error statuses each route answers, with one error model, are declared on the routes (``errors.error_responses``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

SEARCH_FORM = "Body_search_api_search_post"
ONE_QUERY = [
    {"required": ["image"], "not": {"required": ["item_id"]}},
    {"required": ["item_id"], "not": {"anyOf": [{"required": ["image"]}, {"required": ["domain"]}]}},
]


def _not_nullable(prop: dict[str, Any]) -> None:
    """``{"anyOf": [X, {"type": "null"}], ...}`` -> ``{**X, ...}`` (in place)."""
    options = prop.get("anyOf")
    if not isinstance(options, list):
        return
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) == 1 and len(rest) < len(options):
        del prop["anyOf"]
        prop.update(rest[0])


def truthful_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """An ``app.openapi`` that patches FastAPI's schema once (module docstring) and caches it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.get("components", {}).get("schemas", {})
        for name, component in components.items():
            if name.startswith("Body_"):  # the multipart forms
                for prop in component.get("properties", {}).values():
                    _not_nullable(prop)
        if SEARCH_FORM in components:
            components[SEARCH_FORM]["oneOf"] = ONE_QUERY
            schema["paths"]["/api/search"]["post"]["requestBody"]["required"] = True  # a query is required
        text = components.get("TextQuery", {}).get("properties", {}).get("text")
        if text is not None:
            text["pattern"] = r"\S"
        app.openapi_schema = schema
        return schema

    return openapi
