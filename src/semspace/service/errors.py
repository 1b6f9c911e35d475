"""Every error a request can meet becomes one JSON ``{"detail": "<what was wrong; what is expected>", "code": "..."}``
with a 4xx status (5xx only for the service's own faults: a busy queue, a timeout, a bug). ``code`` is machine-readable
(``CODES``: one per status), ``detail`` is for people; ``ErrorBody`` is their schema, and ``error_responses`` declares
it in the OpenAPI schema for each status a route can answer (the 422 included, replacing FastAPI's default
``HTTPValidationError``, which this service never sends).

* ``ServiceError(status, detail)``: raised by the service itself (413 too large, 415 not a picture, 409 the run
  cannot do that, 404 no such item, 503 busy, 504 too slow);
* ``DataError`` (an unreadable input) and ``ConfigError`` (a domain or modification the task cannot take) from the
  library: 400 with the library's one-line message;
* request validation (a missing field, ``k`` out of range, a malformed id): 422 with one line naming each field.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from semspace.errors import SemspaceError

logger = logging.getLogger(__name__)

# The machine-readable code of each status this service answers with an error, and what it means (the OpenAPI
# description of that status).
CODES: dict[int, tuple[str, str]] = {
    400: ("bad_input", "an unreadable picture, a domain or collection the run or index lacks"),
    401: ("unauthorized", "no or a wrong bearer token (SEMSPACE_API_TOKEN is set)"),
    404: ("not_found", "no such item, file or endpoint"),
    405: ("method_not_allowed", "the endpoint does not take this method"),
    409: (
        "conflict",
        "the run cannot do that (no compose, sketch, text or translate), or a rebuilt index cannot be served",
    ),  # fmt: skip
    413: ("too_large", "the body or a picture is over the limits (SEMSPACE_MAX_UPLOAD_BYTES, SEMSPACE_MAX_PIXELS)"),
    415: ("unsupported_media", "an upload that is not a PNG, JPEG, GIF, WebP, BMP or TIFF picture"),
    422: ("invalid", "a malformed request: each invalid field named"),
    500: ("internal", "a bug of the service (the server log has the details)"),
    503: ("busy", "too many requests wait for a model worker, or the service is still loading"),
    504: ("timeout", "the query took longer than SEMSPACE_REQUEST_TIMEOUT_S"),
}
ErrorCode = Literal["bad_input", "unauthorized", "not_found", "method_not_allowed", "conflict", "too_large",
                    "unsupported_media", "invalid", "internal", "busy", "timeout"]  # fmt: skip


class ErrorBody(BaseModel):
    """Every error answer: one line for people and a code for programs."""

    detail: str = Field(description="what was wrong and what is expected, one line")
    code: ErrorCode = Field(description="machine-readable: one per HTTP status (docs/service.md)")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: ``ErrorBody`` for each of ``statuses`` (with what that status means here)."""
    return {
        s: {"model": ErrorBody, "description": CODES[s][1],
            "content": {"application/json": {"example": {"detail": CODES[s][1], "code": CODES[s][0]}}}}
        for s in statuses
    }  # fmt: skip


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and one line saying what was wrong and what is expected."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def error_body(status: int, detail: str) -> dict[str, str]:
    """``{"detail": <one line>, "code": <CODES[status]>}``."""
    return {"detail": " ".join(str(detail).split()), "code": CODES.get(status, ("internal", ""))[0]}


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, detail), status_code=status, headers=headers)


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
