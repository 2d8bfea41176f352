"""Partner organisations as reference data (issue 13): listed for anyone, added by an admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from api.deps import Caller, IdemKey, Svc, require, run_command
from api.schemas import Created, Model, Name, Page
from domain.partners import CODE_PATTERN

router = APIRouter(tags=["partners"])


class PartnerIn(Model):
    code: Annotated[str, Field(pattern=CODE_PATTERN, examples=["hoi-khuyen-hoc"])]
    name: Name
    aliases: Annotated[list[Name], Field(max_length=10)] = []  # noqa: RUF012 - pydantic copies it


@router.get("/partners", response_model=Page)
def partners(svc: Svc, response: Response) -> dict[str, Any]:
    """The partner organisations a pledge or a receipt may name (`mobilised_by`, by code or by
    one of its names): the plan's own list, then those an admin added."""
    response.headers["Cache-Control"] = "public, max-age=10"
    return {"items": list(svc.ledger.partners(fresh=True).values()), "next_cursor": None}


@router.post("/partners", status_code=201, response_model=Created)
async def add_partner(body: PartnerIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Add a partner organisation; no code or name may name two (409 `already_recorded`)."""
    require(who, "admin")
    return await run_command(request, who, idempotency_key, body, svc.ledger.add_partner,
                             **body.model_dump())
