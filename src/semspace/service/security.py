"""The optional bearer token, the request-body limit and the response headers.

* ``SEMSPACE_API_TOKEN`` set: every ``/api/`` endpoint but ``/api/health`` needs ``Authorization: Bearer <token>``,
  compared in constant time (``hmac.compare_digest``); the page itself stays public and asks for the token.
* ``BodyLimit``: a request body larger than ``max_upload_bytes`` is refused with 413 before any of it is parsed
  (by its Content-Length, or while it streams in without one).
* ``SecurityHeaders``: ``nosniff``, no framing, no referrer; the page and the API's docs (``/api/docs``, Swagger UI
  from the installed package) get a strict Content-Security-Policy (their own scripts, styles and images only).
  Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` costs every request a task
  and a stream (benchmarks/results/service.md).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from semspace.service.errors import ServiceError, error_body

PAGE_CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip


def token_checker(token: str | None) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: nothing when ``token`` is None, else 401 unless the request carries it."""

    async def check(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            what = "no bearer token" if not given else "a wrong token"
            raise ServiceError(401, f"this service needs 'Authorization: Bearer <token>' (SEMSPACE_API_TOKEN); the "
                                    f"request has {what}", {"WWW-Authenticate": "Bearer"})  # fmt: skip

    return check


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads any of it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send, int(length) if length.isdigit() else None)
            return
        chunks: list[Message] = []
        size = 0
        while True:  # read the whole (bounded) body first, so an over-long stream is refused before parsing
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send, None)
                return
            chunks.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int | None) -> None:
        got = f"{size} bytes" if size is not None else "more than that"
        body = json.dumps(error_body(413, f"the request body is {got}; the limit is {self.limit} bytes "
                                          "(SEMSPACE_MAX_UPLOAD_BYTES): send a smaller picture")).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
CSP_PREFIXES = ("/static/", "/api/docs")  # the page's files, the docs page and its Swagger UI files


class SecurityHeaders:
    """ASGI middleware: adds the headers of the module docstring to every response (those the app set stay)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = [*HEADERS]
        if path == "/" or path.startswith(CSP_PREFIXES):
            extra.append((b"content-security-policy", PAGE_CSP.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in have)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
