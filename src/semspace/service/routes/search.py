"""``POST /api/search`` (an uploaded picture or an item id, optional modification), ``/api/search/sketch`` (a
drawing) and ``/api/search/text`` (a JSON body). Each answers a ``SearchAnswer``; a run that cannot take the query
(no compose capability for a modification, no sketch or text domain) answers 409.
"""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from semspace.data.domains import InputKind
from semspace.errors import SemspaceError
from semspace.service.deps import EngineDep, ViewDep
from semspace.service.engine import ServiceEngine
from semspace.service.errors import ServiceError, error_responses
from semspace.service.generation_view import GenerationView
from semspace.service.schemas import SearchAnswer, text_query_model
from semspace.service.settings import ServiceSettings
from semspace.service.uploads import check_picture

NAME = Annotated[
    str | None, Form(max_length=200, description="the task's domain to read the query as (default: by kind)")
]
IN_DOMAINS = Annotated[list[str] | None, Form(max_length=64, description="collections to search (default: all)")]
KEEP = Annotated[bool, Form(description="keep the query's own item (same content) among the results")]
FILTER_FORM = Annotated[
    list[str] | None,
    Form(max_length=32, description="keep only items meeting this condition (repeatable): 'year>=2000', 'place=home', "
         "'source=NAME', 'path=*/cats/*' (fields from `index build --fields`; docs/queries.md)"),
]  # fmt: skip
UPLOAD = error_responses(400, 409, 413, 415, 422, 503, 504)  # a search by an uploaded picture


async def _upload_search(engine: ServiceEngine, view: GenerationView, upload: UploadFile, field: str, kind: InputKind,
                         **opts: Any) -> Any:  # fmt: skip
    pic = check_picture(await upload.read(), field=field, filename=upload.filename,
                        max_pixels=engine.settings.max_pixels)  # fmt: skip
    with pic.as_file() as path:
        try:
            return await engine.run(view.search, path, kind=kind, **opts)
        except SemspaceError as exc:  # name the upload, not the temporary file
            raise ServiceError(400, str(exc).replace(str(path), pic.name)) from None


def search_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["search"])
    k_form = Annotated[int, Form(ge=1, le=settings.max_k, description="number of results")]
    modify_form = Annotated[
        str | None, Form(max_length=settings.max_text_chars, description="a modification ('make the red cube blue')")
    ]

    @router.post("/search", response_model=SearchAnswer, responses={**UPLOAD, **error_responses(404)},
                 summary="Search by a picture or an item, optionally modified")  # fmt: skip
    async def search(
        engine: EngineDep,
        view: ViewDep,
        request: Request,
        image: Annotated[
            UploadFile | None, File(description="the query picture (PNG, JPEG, GIF, WebP, BMP, TIFF)")
        ] = None,
        item_id: Annotated[int | None, Form(ge=0, le=2**62, description="an indexed item as the query")] = None,
        modify: modify_form = None,
        k: k_form = settings.default_k,
        domain: NAME = None,
        in_domain: IN_DOMAINS = None,
        keep_query: KEEP = False,
        filter: FILTER_FORM = None,  # noqa: A002 - the API's name for it
    ) -> Any:
        if (image is None) == (item_id is None):
            raise ServiceError(422, "give exactly one query: image (a picture file) or item_id (an indexed item)")
        if modify is not None and modify.strip():
            view.require_capability("compose")
        view.check_domains(domain, InputKind.IMAGE, in_domain)
        opts = {"modify": modify, "k": k, "in_domains": in_domain or None, "keep_query": keep_query,
                "where": filter or None}  # fmt: skip
        if item_id is not None:
            if domain is not None or "domain" in await request.form():  # FastAPI reads an empty field as None
                raise ServiceError(422, "domain applies to an uploaded image; an item is read as its own domain")
            return await engine.run(view.search_item, item_id, **opts)
        assert image is not None
        view.require_kind(InputKind.IMAGE, "search by image")
        return await _upload_search(engine, view, image, "image", InputKind.IMAGE, domain=domain, **opts)

    @router.post("/search/sketch", response_model=SearchAnswer, responses=UPLOAD, summary="Search by a drawing")
    async def search_sketch(
        engine: EngineDep,
        view: ViewDep,
        sketch: Annotated[UploadFile, File(description="the drawing (PNG from the page's canvas, or any picture)")],
        k: k_form = settings.default_k,
        domain: NAME = None,
        in_domain: IN_DOMAINS = None,
        keep_query: KEEP = False,
        sketch_check: Annotated[
            bool, Form(description="refuse blank drawings and photos (false: skip the check)")
        ] = True,
        filter: FILTER_FORM = None,  # noqa: A002 - the API's name for it
    ) -> Any:
        view.require_kind(InputKind.SKETCH, "search by sketch")
        view.check_domains(domain, InputKind.SKETCH, in_domain)
        return await _upload_search(engine, view, sketch, "sketch", InputKind.SKETCH, domain=domain, modify=None, k=k,
                                    sketch_check=sketch_check, where=filter or None,
                                    in_domains=in_domain or None, keep_query=keep_query)  # fmt: skip

    TextQuery = text_query_model(default_k=settings.default_k, max_k=settings.max_k,
                                 max_chars=settings.max_text_chars)  # fmt: skip

    @router.post("/search/text", response_model=SearchAnswer, responses=error_responses(400, 409, 413, 422, 503, 504),
                 summary="Search by a text")  # fmt: skip
    async def search_text(engine: EngineDep, view: ViewDep, body: TextQuery) -> Any:  # type: ignore[valid-type]
        q: Any = body
        if not q.text.strip():
            raise ServiceError(422, "text is blank; type what to look for ('a large red cube')")
        view.require_kind(InputKind.TEXT, "search by text")
        view.check_domains(q.domain, InputKind.TEXT, q.in_domains)
        return await engine.run(view.search, q.text, kind=InputKind.TEXT, domain=q.domain, modify=None, k=q.k,
                                in_domains=q.in_domains or None, keep_query=q.keep_query,
                                where=q.filter or None)  # fmt: skip

    return router
