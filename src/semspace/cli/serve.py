"""``semspace serve``: the web service (page + JSON API) over one index, with uvicorn (docs/service.md)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from semspace.cli.device_option import DeviceOption
from semspace.errors import DataError


def serve(
    index: Annotated[Path, typer.Option("--index", help="an index folder (semspace index build)")],
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="the run that built the index (default: as recorded in it)")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to bind (0: any free port)")] = 8000,
    device: DeviceOption = "auto",
    model_workers: Annotated[
        int | None,
        typer.Option("--model-workers", min=1, max=64, help="threads that embed and search (default: one per core)"),
    ] = None,
) -> None:
    """Serve the search page and the JSON API for one index.

    The index and its model load once; then the page is at the printed URL and the API under /api/
    (schema: /api/openapi.json). Limits, an API token (SEMSPACE_API_TOKEN) and CORS origins come from
    SEMSPACE_* variables (docs/service.md).

    Example: semspace serve --index runs/demo/index

    Example: SEMSPACE_API_TOKEN=secret semspace serve --index runs/photos --host 0.0.0.0 --port 8080
    """
    import logging

    import uvicorn

    from semspace.engine.logging import setup_logging
    from semspace.service import ServiceSettings, create_app
    from semspace.service.engine import ServiceEngine

    if not index.is_dir():
        raise DataError(f"index folder {index} does not exist; build one with semspace index build ... --out {index}")
    given: dict[str, Any] = {"model_workers": model_workers} if model_workers is not None else {}  # else the env
    settings = ServiceSettings(index=index, run_dir=run_dir, host=host, port=port, device=device, **given)
    setup_logging(None, logging.INFO)
    engine = ServiceEngine(settings)  # load before binding: a bad index or run is one error line, not a server log
    app = create_app(settings, searcher=engine.searcher)
    engine.close()
    sock = bind(host, port)  # an address in use is one error line (OSError), before uvicorn starts
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=5))
    url = bound_url(sock)
    typer.echo(f"semspace: serving {index} ({len(engine.index)} items, task {engine.searcher.task.name}) at {url}  "
               f"(API: {url}api/docs; Ctrl+C stops)")  # fmt: skip
    del engine  # the app's own engine follows the index; this one must not keep the first generation leased
    server.run(sockets=[sock])


def bound_url(sock: socket.socket) -> str:
    """The URL of the address ``sock`` is bound to, as bound: ``http://127.0.0.1:8000/``, ``http://[::1]:8000/``."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        OSError: the address cannot be bound (in use, not this machine's, a port that needs root).
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
