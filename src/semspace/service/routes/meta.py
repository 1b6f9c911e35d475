"""``GET /api/health`` (no token needed) and ``GET /api/info`` (what the loaded run can do)."""

from typing import Any

from fastapi import APIRouter

from semspace.service.deps import EngineDep
from semspace.service.schemas import Health, Info
from semspace.version import __version__


def health_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    @router.get("/health", response_model=Health, summary="Liveness: the index and model are loaded")
    async def health(engine: EngineDep) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "items": len(engine.index)}

    return router


def info_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    @router.get("/info", response_model=Info, summary="The run: task, capabilities, panels, domains, index, limits")
    async def info(engine: EngineDep) -> dict[str, Any]:
        return await engine.run(engine.info)

    return router
