"""``create_app(settings)``: the FastAPI app of one index and its model (DESIGN section 7; docs/service.md).

The lifespan loads the ``Searcher`` once (``ServiceEngine``) and closes its thread pools at shutdown; the engine
follows the index folder from then on (a rebuilt index is served from the next requests on, ``IndexFollower``).
Routes:

* ``GET /``: the page (``static/index.html``, ``app.js``, ``app.css``; plain HTML, CSS and JavaScript);
* ``/api/health``, ``/api/info``, ``/api/reload``, ``/api/search``, ``/api/search/sketch``, ``/api/search/text``,
  ``/api/translate``, ``/api/items``, ``/api/items/{id}``, ``/api/items/{id}/thumbnail``, ``/api/items/{id}/image``;
  the schema at ``/api/openapi.json`` and its browser at ``/api/docs`` (Swagger UI from the installed package,
  ``service.docs``: it works offline);
* ``GET /metrics``: Prometheus's text format (``service.metrics``).

Every error is ``{"detail", "code"}`` (``service.errors``), declared in the schema for each status a route answers.
CORS is off unless ``cors_origins`` names origins; ``api_token`` guards ``/metrics`` and every ``/api/`` route but
health.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from semspace.retrieval import Searcher
from semspace.service.docs import install_docs
from semspace.service.engine import ServiceEngine
from semspace.service.errors import error_responses, install_error_handlers
from semspace.service.metrics import MetricsMiddleware, RouteTemplates, ServiceMetrics
from semspace.service.openapi import truthful_openapi
from semspace.service.routes.items import items_router
from semspace.service.routes.meta import health_router, info_router
from semspace.service.routes.search import search_router
from semspace.service.routes.terms import terms_router
from semspace.service.routes.translate import translate_router
from semspace.service.security import BodyLimit, SecurityHeaders, token_checker
from semspace.service.settings import ServiceSettings
from semspace.version import __version__

logger = logging.getLogger(__name__)
STATIC = Path(str(resources.files("semspace.service") / "static"))


def create_app(settings: ServiceSettings, *, searcher: Searcher | None = None) -> FastAPI:
    """The service app. The index and model load when the app starts (its lifespan), once.

    Args:
        settings: what to load and the limits (``ServiceSettings``; ``SEMSPACE_*`` variables).
        searcher: an already loaded ``Searcher`` to serve instead of loading ``settings.index`` (tests, notebooks); the
            app's first start takes it and keeps no reference of its own, so its generation is let go once the
            service follows a rebuilt index (a second start loads ``settings.index``).

    Raises:
        DataError, CheckpointError, IndexMismatchError: at start-up, when the index or its model cannot be loaded.
    """

    given = [searcher] if searcher is not None else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = ServiceEngine(settings, given.pop() if given else None)
        app.state.engine = engine
        logger.info("serving %s (%d items, task %s)", settings.index, len(engine.index), engine.searcher.task.name)
        try:
            yield
        finally:
            app.state.engine = None
            engine.close()

    app = FastAPI(
        title="semspace",
        version=__version__,
        description="Search one shared semantic space by image (+ modification), sketch or text; translate with "
        'an exemplar. Every error is JSON {"detail": "what was wrong; what is expected", "code": "not_found"} '
        "(ErrorBody: one code per status).",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,  # service.docs: Swagger UI from the installed package, under the page's CSP
        redoc_url=None,
    )
    app.state.engine = None
    app.openapi = truthful_openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    token = settings.api_token.get_secret_value() if settings.api_token is not None else None
    needs_token = [Depends(token_checker(token))]
    guarded = APIRouter(dependencies=needs_token, responses=error_responses(401) if token is not None else None)
    for router in (info_router(), search_router(settings), terms_router(settings), items_router(settings),
                   translate_router()):  # fmt: skip
        guarded.include_router(router)
    app.include_router(health_router(), prefix="/api")
    app.include_router(guarded, prefix="/api")
    install_docs(app, STATIC)
    metrics = ServiceMetrics(lambda: app.state.engine)

    @app.get("/metrics", include_in_schema=False, dependencies=needs_token)
    async def scrape() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    # outermost last: metrics see every request (a 413 too), every answer gets the security headers
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=metrics, templates=RouteTemplates(app))
    return app
