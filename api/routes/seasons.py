"""Seasons as reference data (issue 12): listed for anyone, opened and closed by an admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import Caller, IdemKey, Svc, require, run_command
from api.schemas import BusinessDate, Created, Model, Name, Page, Reason, Season

router = APIRouter(tags=["seasons"])


class SeasonIn(Model):
    code: Season
    name: Name
    starts_on: BusinessDate
    ends_on: BusinessDate


class SeasonCloseIn(Model):
    reason: Reason


@router.get("/seasons", response_model=Page)
def seasons(svc: Svc, response: Response) -> dict[str, Any]:
    """Every season opened, in date order, with its dates (both included) and whether it is
    closed. A fresh installation knows none until an admin opens one."""
    response.headers["Cache-Control"] = "public, max-age=10"
    return {"items": svc.ledger.seasons(), "next_cursor": None}


@router.post("/seasons", status_code=201, response_model=Created)
async def open_season(body: SeasonIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Open a season: programmes, needs and distributions may name it from then on, and a
    distribution's date must lie in it. Seasons never overlap (`season_overlap`): every day
    belongs to one season, so that a child's support can't be counted in two."""
    require(who, "admin")
    return await run_command(request, who, idempotency_key, body, svc.ledger.open_season,
                             **body.model_dump(mode="json"))


@router.post("/seasons/{code}/close", status_code=201, response_model=Created)
async def close_season(code: Season, body: SeasonCloseIn, request: Request, svc: Svc,
                       who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Close a season, for the reason given: it takes no new allocation, need or distribution
    (`season_closed`); reversals of what it holds still may be recorded."""
    require(who, "admin")
    return await run_command(request, who, idempotency_key, body, svc.ledger.close_season,
                             code=code, reason=body.reason)
