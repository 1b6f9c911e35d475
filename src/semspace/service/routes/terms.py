"""``POST /api/search/terms``: a weighted multi-term query (``retrieval/terms.py``, docs/queries.md) as one JSON body.

Each term is a text, an indexed item, or a picture (image or drawing) given as base64 in ``data``, with a weight
(negative pushes its direction away) and an optional domain and modification; the terms are embedded in their own
domains and combined as ``N(sum_i w_i N(z_i))``. A ``filter`` keeps only items meeting its conditions, inside the
search. Pictures are checked like uploads (format sniffed, pixels counted before decoding: 413, 415).
"""

import base64
import binascii
import io
from typing import Any

from fastapi import APIRouter
from PIL import Image

from semspace.service.deps import EngineDep, ViewDep
from semspace.service.errors import ServiceError, error_responses
from semspace.service.schemas import SearchAnswer, terms_query_model
from semspace.service.settings import ServiceSettings
from semspace.service.uploads import check_picture

VALUE_OF = {"text": "text", "item": "item", "image": "data", "sketch": "data"}  # the field each kind takes


def terms_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["search"])
    TermsQuery = terms_query_model(default_k=settings.default_k, max_k=settings.max_k,
                                   max_chars=settings.max_text_chars,
                                   max_picture_bytes=settings.max_upload_bytes)  # fmt: skip

    @router.post("/search/terms", response_model=SearchAnswer,
                 responses=error_responses(400, 404, 409, 413, 415, 422, 503, 504),
                 summary="Search by weighted terms (texts, pictures, drawings, items)")  # fmt: skip
    async def search_terms(engine: EngineDep, view: ViewDep, body: TermsQuery) -> Any:  # type: ignore[valid-type]
        from semspace.retrieval.terms import QueryTerm

        q: Any = body
        terms = []
        for i, t in enumerate(q.terms, start=1):
            terms.append(QueryTerm(t.kind, _value(t, i, settings.max_pixels), float(t.weight), t.domain, t.modify))
        if q.in_domains:
            view.check_domains(None, None, q.in_domains)
        return await engine.run(view.search_terms, terms, k=q.k, in_domains=q.in_domains or None,
                                keep_query=q.keep_query, where=q.filter or None)  # fmt: skip

    return router


def _value(term: Any, i: int, max_pixels: int) -> Any:
    """The value of term ``i``: its text, item id, or picture (decoded from base64 after the upload checks)."""
    field = VALUE_OF[term.kind]
    given = [f for f in ("text", "item", "data") if getattr(term, f) is not None]
    if given != [field]:
        raise ServiceError(400, f"term {i} ({term.kind}) takes exactly its '{field}' field, got {given or 'none'}")
    if field == "text":
        if not term.text.strip():
            raise ServiceError(400, f"term {i}: text is blank; type what to look for")
        return term.text
    if field == "item":
        return int(term.item)
    try:
        data = base64.b64decode(term.data, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(400, f"term {i}: data is not base64; send the picture's bytes base64-encoded") from None
    pic = check_picture(data, field=f"term {i} data", filename=None, max_pixels=max_pixels)
    with Image.open(io.BytesIO(pic.data), formats=[pic.format]) as img:
        img.load()  # a picture Pillow cannot decode is refused here, before the model pool
    return io.BytesIO(pic.data)  # its bytes: the query leaves out an indexed copy of the same file
