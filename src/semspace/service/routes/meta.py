"""``GET /api/health`` (no token needed), ``GET /api/info`` (what the loaded run can do, the generation served) and
``POST /api/reload`` (follow a rebuilt index now rather than at the next look, ``IndexFollower``)."""

from typing import Any

from fastapi import APIRouter

from semspace.service.deps import EngineDep, ViewDep
from semspace.service.errors import error_responses
from semspace.service.schemas import Health, Info, Reload
from semspace.version import __version__


def health_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    @router.get("/health", response_model=Health, responses=error_responses(503),
                summary="Liveness: the index and model are loaded")  # fmt: skip
    async def health(view: ViewDep) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "items": len(view.index)}

    return router


def info_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    @router.get("/info", response_model=Info, responses=error_responses(503),
                summary="The run: task, capabilities, panels, domains, index, limits")  # fmt: skip
    async def info(engine: EngineDep, view: ViewDep) -> dict[str, Any]:
        return await engine.read_now(view.info, engine.follower.error)

    @router.post("/reload", response_model=Reload, responses=error_responses(409, 413, 503),
                 summary="Serve the index folder's current generation now (409: the rebuilt index cannot be served "
                 "(removed, half-written, another model); the old generation still is)")  # fmt: skip
    async def reload(engine: EngineDep) -> dict[str, Any]:
        before, after = await engine.follower.reload()
        return {"before": before, "after": after, "changed": before != after, "items": len(engine.index)}

    return router
