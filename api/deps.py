"""Request dependencies: the services, the caller and their rights, read-your-writes."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from api.services import Services
from api.tokens import Principal, cached_principal, find_principal
from domain.meta import Context

STAFF = ("admin", "finance", "district")
MAX_IDEMPOTENCY_KEY = 200


# Dependencies are async where they can answer without IO: FastAPI runs a sync dependency in a
# worker thread, and each such hand-off costs more than the work itself.
async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


async def principal(svc: Svc, authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Problem(401, "unauthorized", "Authentication required",
                      "send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    token = credentials.strip()
    found = cached_principal(token) or await run_in_threadpool(find_principal, svc.db, token)
    if found is None:
        raise Problem(401, "unauthorized", "Unknown token", "this token is not valid",
                      {"WWW-Authenticate": "Bearer"})
    return found


Caller = Annotated[Principal, Depends(principal)]


def require(who: Principal, *roles: str) -> None:
    if who.role != "admin" and who.role not in roles:
        raise Problem(403, "forbidden", "Not allowed",
                      f"role {who.role!r} may not do this; needs one of {', '.join(roles)}")


def require_district(svc: Services, who: Principal, commune: str) -> None:
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
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    return Context(actor=who.name, role=who.role, request_id=request_id,
                   idempotency_key=idempotency_key)


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def request_hash(request: Request, body: BaseModel | dict[str, Any]) -> str:
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    text = json.dumps([request.method, request.url.path, payload], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def consistent(
    svc: Svc,
    after: Annotated[int | None, Query(ge=0, description="answer once position P is projected")] = None,
    x_min_position: Annotated[int | None, Header(ge=0)] = None,
) -> None:
    """Read your writes: wait (a few seconds at most) until projections reach the position."""
    wanted = max(after or 0, x_min_position or 0)
    if wanted and not await run_in_threadpool(svc.runner.wait_for, wanted, svc.settings.wait_timeout_s):
        raise Problem(503, "not_yet_projected", "Not yet projected",
                      f"projections have not reached position {wanted} yet",
                      {"Retry-After": "1"})


Consistent = Depends(consistent)
