"""``GET /api/items`` (a page of the gallery), ``/api/items/{id}``, ``/api/items/{id}/thumbnail`` and
``/api/items/{id}/image`` (the source picture, only when the index recorded it as a file that still exists: no
path is ever built from the request)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from semspace.service.deps import EngineDep, ViewDep
from semspace.service.errors import error_responses
from semspace.service.schemas import Item, ItemPage
from semspace.service.settings import ServiceSettings

ItemId = Annotated[int, Path(ge=0, le=2**62, description="an item id (from a search or /api/items)")]
PNG = {"content": {"image/png": {}}, "description": "the picture"}
ONE = error_responses(404, 422, 503)  # an item's answers: no such item, a malformed id, still loading


def items_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["items"])

    @router.get("/items", response_model=ItemPage, responses=error_responses(400, 422, 503, 504),
                summary="A page of indexed items (the gallery to pick from)")  # fmt: skip
    async def list_items(
        engine: EngineDep,
        view: ViewDep,
        domain: Annotated[str | None, Query(max_length=200, description="only this collection")] = None,
        offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=settings.page_size_max)] = min(48, settings.page_size_max),
    ) -> Any:
        return await engine.read(view.list_items, domain, offset, limit)

    @router.get("/items/{item_id}", response_model=Item, responses=ONE, summary="One indexed item")
    async def get_item(engine: EngineDep, view: ViewDep, item_id: ItemId) -> Any:
        return await engine.read_now(view.get_item, item_id)

    @router.get("/items/{item_id}/thumbnail", response_class=Response,
                responses={200: PNG, 304: {"description": "not modified: If-None-Match named its ETag"}, **ONE},
                summary="The item's thumbnail (PNG)")  # fmt: skip
    async def thumbnail(engine: EngineDep, view: ViewDep, item_id: ItemId, request: Request) -> Response:
        data, etag = await engine.read_now(view.thumbnail, item_id)
        tag = f'"{etag}"'
        headers = {"ETag": tag, "Cache-Control": "private, max-age=3600"}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="image/png", headers=headers)

    @router.get("/items/{item_id}/image", response_class=FileResponse,
                responses={200: {"content": {"image/*": {}}, "description": "the source picture"}, **ONE},
                summary="The item's source picture (items indexed from files)")  # fmt: skip
    async def image(engine: EngineDep, view: ViewDep, item_id: ItemId) -> FileResponse:
        path, media_type = await engine.read_now(view.image_file, item_id)
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})

    return router
