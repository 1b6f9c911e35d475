"""``/api/docs``: Swagger UI on the service's own schema, from files installed with the package, so it works offline.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (the service extra; Swagger UI 5, which reads the
OpenAPI 3.1 that FastAPI writes), served under ``/api/docs/assets/``; the page itself (``static/docs.html``) and its
initializer (``static/docs.js``, a file rather than an inline script) are ours, so the page keeps the strict
Content-Security-Policy of the search page (``security.PAGE_CSP``): nothing is loaded from another origin. Without
the package, ``/api/docs`` says how to install it (the schema stays at ``/api/openapi.json``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

MISSING = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>semspace API</title></head><body>"
    "<p>Swagger UI is not installed: <code>pip install swagger-ui-bundle-v2</code> (semspace's service extra has "
    "it). The schema is at <a href='openapi.json'>/api/openapi.json</a>.</p></body></html>"
)


def swagger_ui_files() -> Path | None:
    """The folder of Swagger UI's files in the installed ``swagger-ui-bundle-v2`` package, or None."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, static: Path) -> None:
    """``GET /api/docs`` and ``/api/docs/assets/*`` on ``app`` (``static``: the service's own static folder)."""
    files = swagger_ui_files()

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> Response:
        if files is None:
            return HTMLResponse(MISSING)
        return FileResponse(static / "docs.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    if files is not None:
        app.mount("/api/docs/assets", StaticFiles(directory=files), name="swagger-ui")
