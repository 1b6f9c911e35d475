"""Every error a request can meet becomes one JSON ``{"detail": "<what was wrong; what is expected>"}`` with a 4xx
status (5xx only for the service's own faults: a busy queue, a timeout, a bug).

* ``ServiceError(status, detail)``: raised by the service itself (413 too large, 415 not a picture, 409 the run
  cannot do that, 404 no such item, 503 busy, 504 too slow);
* ``DataError`` (an unreadable input) and ``ConfigError`` (a domain or modification the task cannot take) from the
  library: 400 with the library's one-line message;
* request validation (a missing field, ``k`` out of range, a malformed id): 422 with one line naming each field.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from semspace.errors import SemspaceError

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and one line saying what was wrong and what is expected."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": " ".join(str(detail).split())}, status_code=status, headers=headers)


def validation_detail(exc: RequestValidationError) -> str:
    """One line for every invalid field: ``k (form): Input should be less than or equal to 100``."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
        source = f" ({loc[0]})" if loc and loc[0] in ("body", "query", "path", "header") else ""
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "missing":
            msg = "missing; this request needs it"
        parts.append(f"{where or 'request'}{source}: {msg}")
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into one JSON ``detail`` line."""

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, exc.detail, exc.headers)

    @app.exception_handler(SemspaceError)
    async def _library(_: Request, exc: SemspaceError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such page or endpoint; the API is described at /api/openapi.json"
        elif exc.status_code == 405:
            detail = f"method not allowed here ({detail}); see /api/openapi.json for the methods of each endpoint"
        return error_response(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details")
