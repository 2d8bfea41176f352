"""Request dependencies: the services, the caller and their rights, read-your-writes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from adapters.keys import keyed_digest, request_hash_key
from adapters.tokens import Principal, TokenRefused, check_token
from api.access import PRINCIPAL_STATE, needs_token
from api.problems import Problem
from api.routes import MAX_INT64
from api.waiting import Busy, PositionWatch
from domain.meta import Context
from ledger.bootstrap import CompositionRoot

STAFF = ("admin", "finance", "district")
MAX_IDEMPOTENCY_KEY = 200
MAX_REQUEST_ID = 100


# Dependencies are async where they can answer without IO: FastAPI runs a sync dependency in a
# worker thread, and each such hand-off costs more than the work itself.
async def services(request: Request) -> CompositionRoot:
    svc: CompositionRoot = request.app.state.services
    return svc


Svc = Annotated[CompositionRoot, Depends(services)]


async def principal(request: Request, svc: Svc,
                    authorization: Annotated[str | None, Header()] = None) -> Principal:
    known: Principal | None = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if known is not None:
        return known
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Problem(401, "unauthorized", "Authentication required",
                      "send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    try:
        return await run_in_threadpool(check_token, svc.db, credentials.strip())
    except TokenRefused as e:
        raise Problem(401, "unauthorized", "Unknown token", e.reason,
                      {"WWW-Authenticate": "Bearer"}) from e


Caller = Annotated[Principal, Depends(principal)]


def require(who: Principal, *roles: str) -> None:
    if who.role != "admin" and who.role not in roles:
        raise Problem(403, "forbidden", "Not allowed",
                      f"role {who.role!r} may not do this; needs one of {', '.join(roles)}")


def require_district(svc: CompositionRoot, who: Principal, commune: str) -> None:
    """A district officer acts only on the communes of their own district."""
    if who.role == "district" and svc.areas.district_of(commune) != who.district:
        raise Problem(403, "forbidden", "Outside your district",
                      f"commune {commune} is not in district {who.district}")


def context(
    request: Request,
    who: Principal,
    idempotency_key: str | None,
) -> Context:
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise Problem(422, "validation_error", "Invalid Idempotency-Key",
                      f"the key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    request_id = request.headers.get("x-request-id", "")
    # Stored in every event: a client's id is kept only when short and plain printable ASCII.
    if not (0 < len(request_id) <= MAX_REQUEST_ID and request_id.isascii() and request_id.isprintable()):
        request_id = str(uuid.uuid4())
    return Context(actor=who.name, role=who.role, request_id=request_id,
                   idempotency_key=idempotency_key)


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def request_hash(request: Request, body: BaseModel | dict[str, Any]) -> str:
    """What an idempotency record remembers of its request, to tell a replay from a reuse.

    Keyed with a secret of this installation (DESIGN §6): a body may be a child's or a donor's
    personal data, and a plain digest of it could be recovered by guessing likely bodies."""
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    text = json.dumps([request.method, request.url.path, payload], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    svc: CompositionRoot = request.app.state.services
    return keyed_digest(request_hash_key(svc.ledger.service_key), text.encode())


def _watch(request: Request, svc: CompositionRoot) -> PositionWatch:
    watch: PositionWatch | None = getattr(request.app.state, "position_watch", None)
    if watch is None:
        watch = PositionWatch(svc.runner.position, svc.runner.wake.set,
                              svc.settings.max_anonymous_waiters, svc.health)
        request.app.state.position_watch = watch
    return watch


async def consistent(
    request: Request,
    svc: Svc,
    after: Annotated[int | None, Query(ge=0, le=MAX_INT64,
                                       description="answer once position P is projected")] = None,
    x_min_position: Annotated[int | None, Header(ge=0, le=MAX_INT64)] = None,
) -> None:
    """Read your writes: wait (a few seconds at most, less without a token) until projections
    reach the position. The wait is on the event loop: it holds no worker thread."""
    wanted = max(after or 0, x_min_position or 0)
    if not wanted:
        return
    svc.runner.check(wanted)  # a stopped projection will never get there: say so at once
    anonymous = not needs_token(request.url.path)
    timeout = svc.settings.wait_timeout_s
    if anonymous:
        timeout = min(timeout, svc.settings.anonymous_wait_timeout_s)
    try:
        reached = await _watch(request, svc).reached(wanted, timeout, anonymous=anonymous)
    except Busy as e:
        raise Problem(503, "busy", "Too many waiting",
                      "too many requests wait for a position already; try again shortly",
                      {"Retry-After": "1"}) from e
    if not reached:
        svc.runner.check(wanted)
        raise Problem(503, "not_yet_projected", "Not yet projected",
                      f"projections have not reached position {wanted} yet",
                      {"Retry-After": "1"})


Consistent = Depends(consistent)


async def run_command(request: Request, who: Principal, key: str | None, body: Any,
                      method: Callable[..., Mapping[str, Any]], **kwargs: Any) -> Mapping[str, Any]:
    """Call one ledger command for this request: its context, its request hash, off the event
    loop (the ledger blocks on the database; other requests go on meanwhile)."""
    ctx = context(request, who, key)
    return await run_in_threadpool(method, ctx, request_hash(request, body), **kwargs)


def period(start: dt.date | None, end: dt.date | None) -> tuple[str, str]:
    """A query's period (`from`, `to`, both included; open ends reach back and up to today)."""
    first, last = start or dt.date(1900, 1, 1), end or dt.date.today()
    if first > last:
        raise Problem(422, "validation_error", "Invalid period", "`from` is after `to`")
    return first.isoformat(), last.isoformat()
