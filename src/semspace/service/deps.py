"""FastAPI dependencies: the process's ``ServiceEngine`` (made at start-up, ``app.state.engine``) and the generation
of the index a request runs on (``GenerationView``: taken once, as the request starts; FastAPI caches it for the
request, so every step of one request reads the same generation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from semspace.service.engine import ServiceEngine
from semspace.service.errors import ServiceError
from semspace.service.generation_view import GenerationView


def get_engine(request: Request) -> ServiceEngine:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ServiceError(503, "the service is still loading its index and model; try again in a moment")
    return engine


EngineDep = Annotated[ServiceEngine, Depends(get_engine)]


async def get_view(engine: EngineDep) -> GenerationView:
    # async: runs on the event loop, where the follower decides (one thread) whether to look at the folder
    return engine.view()


ViewDep = Annotated[GenerationView, Depends(get_view)]
