"""FastAPI dependencies: the process's ``ServiceEngine`` (made at start-up, ``app.state.engine``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from semspace.service.engine import ServiceEngine
from semspace.service.errors import ServiceError


def get_engine(request: Request) -> ServiceEngine:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ServiceError(503, "the service is still loading its index and model; try again in a moment")
    return engine


EngineDep = Annotated[ServiceEngine, Depends(get_engine)]
