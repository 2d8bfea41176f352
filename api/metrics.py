"""Prometheus metrics (prometheus-client): requests, latency, projections and background loops."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.waiting import WATCH_TASK
from ledger.bootstrap import TREE_HEADS_TASK
from projections.runner import FOLLOW_TASK

log = logging.getLogger(__name__)
TASKS = (FOLLOW_TASK, TREE_HEADS_TASK, WATCH_TASK)


class LedgerState(Collector):
    """Read at each scrape from the services: positions, lag, stopped projections, errors.

    Counters come from the runner's own tallies, so they count whatever thread saw the failure."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        # Without this, registering would call collect() before the services exist.
        return iter(self._families())

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
                                 GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
                                 CounterMetricFamily, CounterMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily("minhbach_database_up", "1 if the database answered this scrape"),
            GaugeMetricFamily("minhbach_log_position", "Position of the newest event"),
            GaugeMetricFamily("minhbach_projected_position", "Position every projection has reached"),
            GaugeMetricFamily("minhbach_projection_position", "Position each projection has reached",
                              labels=["projection"]),
            GaugeMetricFamily("minhbach_projection_lag_events",
                              "Events between the newest and each projection's position",
                              labels=["projection"]),
            GaugeMetricFamily("minhbach_projection_failed",
                              "1 if the projection has stopped on an event it cannot apply",
                              labels=["projection"]),
            CounterMetricFamily("minhbach_projection_failures",
                                "Times each projection stopped since the process started",
                                labels=["projection"]),
            CounterMetricFamily("minhbach_background_errors",
                                "Errors a background loop caught and went on after",
                                labels=["task"]),
            CounterMetricFamily("minhbach_group_commit_splits",
                                "Batches of commands written again one by one, their joint write"
                                " having failed"),
        )

    def collect(self) -> Iterator[Metric]:
        up, head_g, projected, position, lag, failed, failures, errors, splits = self._families()
        svc: Any = getattr(self.app.state, "services", None)
        if svc is None:
            return iter(())
        runner = svc.runner
        try:
            head = svc.ledger.recorder.max_notification_id() or 0
            positions = runner.positions()
        except Exception as exc:
            # A scrape still answers when the database doesn't: that is what it must show.
            log.warning("metrics: the database does not answer: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            head_g.add_metric([], head)
            projected.add_metric([], min(positions.values(), default=0))
            for name, at in positions.items():
                position.add_metric([name], at)
                lag.add_metric([name], max(head - at, 0))
        stopped = runner.failures()
        for name, count in runner.failure_counts().items():
            failed.add_metric([name], 1 if name in stopped else 0)
            failures.add_metric([name], count)
        counts = svc.health.counts()
        for task in sorted({*TASKS, *counts}):
            errors.add_metric([task], counts.get(task, 0))
        splits.add_metric([], svc.ledger.group_commit_splits)
        return iter((up, head_g, projected, position, lag, failed, failures, errors, splits))


class ReplicaState(Collector):
    """Who served this process's public and auditor reads, and why the primary did (api/replica.py)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily]:
        return (
            CounterMetricFamily("minhbach_replica_reads", "Public and auditor reads, by who served them",
                                labels=["served_by"]),
            CounterMetricFamily("minhbach_replica_fallbacks",
                                "Reads the primary served because the replica failed or lagged",
                                labels=["reason"]),
            GaugeMetricFamily("minhbach_replica_up", "1 if the read replica answered when last asked"),
        )

    def collect(self) -> Iterator[Metric]:
        served, fallbacks, up = self._families()
        reads = getattr(self.app.state, "replica_reads", None)
        svc: Any = getattr(self.app.state, "services", None)
        if reads is None or svc is None or svc.db.replica is None:
            return iter(())
        state = reads.snapshot()
        for who in ("replica", "primary"):
            served.add_metric([who], state["served"].get(who, 0))
        for reason in ("behind", "unavailable"):
            fallbacks.add_metric([reason], state["fallbacks"].get(reason, 0))
        up.add_metric([], 0 if state["error"] else 1)
        return iter((served, fallbacks, up))


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter("minhbach_http_requests_total", "HTTP requests",
                       ["method", "route", "status"], registry=registry)
    latency = Histogram("minhbach_http_request_seconds", "HTTP request latency",
                        ["method", "route"], registry=registry)
    registry.register(LedgerState(app))
    registry.register(ReplicaState(app))

    async def measure(scope: Scope, receive: Receive, send: Send, inner: ASGIApp) -> None:
        # Plain ASGI rather than BaseHTTPMiddleware: a fraction of the cost per request.
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await inner(scope, receive, send_and_note)
        finally:
            # The route template, not the path: ids in paths would explode the label set.
            name = getattr(scope.get("route"), "path", "unmatched")
            requests.labels(scope["method"], name, str(status)).inc()
            latency.labels(scope["method"], name).observe(time.perf_counter() - started)

    class Measure:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await measure(scope, receive, send, self.inner)

    app.add_middleware(Measure)

    exposition = {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}

    @app.get("/metrics", tags=["ops"], include_in_schema=True, response_class=Response,
             responses={200: {"description": "Prometheus text exposition", "content": exposition}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
