"""`/healthz` (liveness: the process answers) and `/readyz` (readiness: it can serve right).

Ready means: the database answers, every projection is running (none stopped on an event it
cannot apply) and none is more than `max_lag_events` behind the log. Anything else is a 503
problem+json that names what is wrong; both answers carry the projections' positions and the
last errors of the background loops."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.problems import PROBLEM_CONTENT, ProblemResponse, problem_body
from ledger.bootstrap import CompositionRoot

log = logging.getLogger(__name__)
PING_TIMEOUT_S = 2.0  # a probe must answer quickly, even while the database doesn't

router = APIRouter(tags=["ops"])


def _failed(svc: CompositionRoot) -> list[dict[str, Any]]:
    return [{"projection": f.name, "position": f.position, "topic": f.topic, "error": f.error,
             "stopped_at": f.stopped_at} for f in svc.runner.failures().values()]


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness: 200 while the process answers; it says which projections have stopped."""
    svc: CompositionRoot = request.app.state.services
    failed = _failed(svc)
    try:
        projected: int | None = svc.runner.position()
    except Exception as exc:
        log.warning("healthz: the database does not answer: %s: %s", type(exc).__name__, exc)
        projected = None
    return {"status": "degraded" if failed or projected is None else "ok",
            "projected_position": projected, "failed_projections": failed,
            "database": "unavailable" if projected is None else "ok"}


@router.get("/readyz", responses={503: {"description": "not_ready: what is wrong is named",
                                        "content": PROBLEM_CONTENT}})
def readyz(request: Request) -> Any:
    """Readiness: 200 when the database answers and every projection runs within its lag."""
    svc: CompositionRoot = request.app.state.services
    limit = svc.settings.max_lag_events
    background = svc.health.snapshot()
    try:
        svc.db.ping(PING_TIMEOUT_S)
        head = svc.ledger.recorder.max_notification_id() or 0
        positions = svc.runner.positions()
    except Exception as exc:
        log.warning("readyz: the database does not answer: %s: %s", type(exc).__name__, exc)
        return _not_ready(request, [f"the database does not answer ({type(exc).__name__})"],
                          database="unavailable", background=background)
    failures = svc.runner.failures()
    lags = {name: max(head - at, 0) for name, at in positions.items()}
    projections = {
        name: {"position": at, "lag_events": lags[name],
               "state": "stopped" if name in failures else "running"}
        for name, at in positions.items()
    }
    reasons = [f"projection {f.name} stopped at position {f.stopped_at}: it cannot apply the"
               f" event at position {f.position} ({f.topic}): {f.error}" for f in failures.values()]
    reasons += [f"projection {name} is {lag} events behind the log (more than {limit})"
                for name, lag in lags.items() if lag > limit]
    body = {"database": "ok", "head": head, "max_lag_events": limit, "projections": projections,
            "failed_projections": _failed(svc), "background": background}
    # A replica that fails or lags sends reads to the primary: shown, and still ready.
    reads = getattr(request.app.state, "replica_reads", None)
    if svc.db.replica is not None and reads is not None:
        body["replica"] = {**reads.snapshot(), "lag_events": max(head - reads.position, 0)
                           if reads.position >= 0 else None}
    if reasons:
        return _not_ready(request, reasons, **body)
    return {"status": "ready", **body}


def _not_ready(request: Request, reasons: list[str], **extra: Any) -> JSONResponse:
    body = problem_body(request.url.path, 503, "not_ready", "Not ready", "; ".join(reasons),
                        reasons=reasons, **extra)
    return ProblemResponse(body, status_code=503, headers={"Retry-After": "5"})
