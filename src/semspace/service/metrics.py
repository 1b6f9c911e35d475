"""``/metrics``: the service in Prometheus's text format (``prometheus-client``), for an operator's scraper.

* ``semspace_http_requests_total{method, route, status}`` and ``semspace_http_request_duration_seconds{method,
  route, status}`` (a histogram): every request, labelled by its route's template (``/api/items/{item_id}``,
  never the raw path, so the number of series stays bounded; ``/static/{path}`` for the page's files, ``unmatched``
  for unknown paths; ``RouteTemplates``), counted by ``MetricsMiddleware`` from the moment it arrives to the end of
  its answer (a body refused for its size before any routing is counted under its route too);
* ``semspace_pool_waiting{pool}``, ``semspace_pool_busy{pool}`` and ``semspace_pool_workers{pool}``: the queue
  depth, the busy workers and the size of the ``model`` and ``read`` pools (``ServiceEngine``);
* ``semspace_index_items{domain, generation}``: the items of each collection of the generation served, with
  ``semspace_index_generation_info{generation}`` (1) and ``semspace_index_reload_failing`` (1 while a newer
  generation cannot be served; ``/api/info`` says why).

Each app has its own registry (tests make many apps in one process). ``/metrics`` needs the bearer token when one is
set, like the API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LABELS = ("method", "route", "status")


class ServiceMetrics:
    """The registry of one app and its request metrics; ``engine()`` gives the engine (None before start-up)."""

    def __init__(self, engine: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("semspace_http_requests", "requests answered, by route template and status", LABELS,
                                registry=self.registry)  # fmt: skip
        self.seconds = Histogram("semspace_http_request_duration_seconds", "time from a request's arrival to the end "
                                 "of its answer", LABELS, buckets=BUCKETS, registry=self.registry)  # fmt: skip
        self.registry.register(EngineCollector(engine))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.seconds.labels(*labels).observe(seconds)


class EngineCollector(Collector):
    """The pools and the index served, read at each scrape."""

    def __init__(self, engine: Callable[[], Any]) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self.engine()
        if engine is None:  # still loading
            return
        waiting = GaugeMetricFamily("semspace_pool_waiting", "requests queued for a worker", labels=["pool"])
        busy = GaugeMetricFamily("semspace_pool_busy", "workers running a request now", labels=["pool"])
        workers = GaugeMetricFamily("semspace_pool_workers", "threads of the pool", labels=["pool"])
        for pool in (engine.model, engine.reads):
            waiting.add_metric([pool.name], pool.waiting)
            busy.add_metric([pool.name], pool.busy)
            workers.add_metric([pool.name], pool.workers)
        yield from (waiting, busy, workers)
        view = engine.follower.current
        generation = view.generation
        items = GaugeMetricFamily("semspace_index_items", "items of each collection of the generation served",
                                  labels=["domain", "generation"])  # fmt: skip
        for domain, n in view.domain_counts.items():
            items.add_metric([domain, generation], n)
        info = GaugeMetricFamily("semspace_index_generation", "the generation served (its name is the label)",
                                 labels=["generation"])  # fmt: skip
        info.add_metric([generation], 1)
        failing = GaugeMetricFamily("semspace_index_reload_failing", "1 while the folder's newer generation cannot be "
                                    "served (/api/info: index.reload_error)")  # fmt: skip
        failing.add_metric([], 1 if engine.follower.error else 0)
        yield from (items, info, failing)


class RouteTemplates:
    """The route template of a request path: the schema's paths (``/api/items/{item_id}``), the routes outside the
    schema and the mounted folders (``/static/{path}``); ``unmatched`` for anything else. Built from the schema on
    first use, so every route of the app is known whatever router it came from; a path is matched against each
    template's anchored pattern (a few microseconds)."""

    EXTRA = ("/", "/metrics", "/api/docs", "/api/openapi.json")
    MOUNTS = ("/static", "/api/docs/assets")

    def __init__(self, app: Any) -> None:
        self.app = app
        self._table: list[tuple[re.Pattern[str], str]] | None = None

    def _build(self) -> list[tuple[re.Pattern[str], str]]:
        paths = [*self.app.openapi().get("paths", {}), *self.EXTRA]
        table = [(compile_path(p)[0], p) for p in paths]
        table += [(re.compile(f"^{re.escape(m)}/.*$"), f"{m}/{{path}}") for m in self.MOUNTS]
        return table

    def __call__(self, path: str) -> str:
        if self._table is None:
            self._table = self._build()
        for pattern, template in self._table:
            if pattern.match(path):
                return template
        return "unmatched"


class MetricsMiddleware:
    """ASGI middleware: counts and times every HTTP request into ``metrics`` (module docstring)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, templates: Callable[[str], str]) -> None:
        self.app, self.metrics, self.templates = app, metrics, templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception that escapes every handler

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - start
            self.metrics.observe(scope["method"], self.templates(scope["path"]), status, seconds)
