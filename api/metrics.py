"""Prometheus metrics (prometheus-client): requests, latency, projection lag."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter("minhbach_http_requests_total", "HTTP requests",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("minhbach_http_request_seconds", "HTTP request latency",
                        ["method", "route"], registry=registry)
    log_head = Gauge("minhbach_log_position", "Position of the newest event", registry=registry)
    projected = Gauge("minhbach_projected_position", "Position every projection has reached",
                      registry=registry)

    @app.middleware("http")
    async def measure(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route template, not the path: ids in paths would explode the label set.
        name = getattr(route, "path", "unmatched")
        requests.labels(request.method, name, str(response.status_code)).inc()
        latency.labels(request.method, name).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", tags=["ops"], include_in_schema=True)
    def metrics() -> Response:
        svc = app.state.services
        log_head.set(svc.ledger.recorder.max_notification_id() or 0)
        projected.set(svc.runner.position())
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
