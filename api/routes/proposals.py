"""Four eyes on large sums (issue 12, item 8): the proposals waiting for a second person.

Allocations and reversals above MINHBACH_FOUR_EYES_VND are answered 202 with a proposal
(api/routes/commands.py); finance and admin approve or reject them here, never the proposer.
Staff and auditors list them; the public sees nothing of a proposal until it is approved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from api.deps import Caller, Consistent, IdemKey, Svc, principal, require, run_command
from api.routes import MAX_INT64
from api.schemas import ApprovalIn, ProposalDecided, Proposals, ProposalStatus, RejectionIn
from projections.proposals import proposals

router = APIRouter(tags=["proposals"])


# Authenticate before waiting for a position (as api/routes/queries.py).
@router.get("/proposals", response_model=Proposals, dependencies=[Depends(principal), Consistent])
def list_proposals(
    svc: Svc, who: Caller,
    status: ProposalStatus | None = None,
    cursor: Annotated[int, Query(ge=0, le=MAX_INT64, description="the next_cursor of the page before")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Proposals oldest first, of one status or all: kind, value, proposer, when, the command's
    arguments; and for a decided one who decided, why, and what the approval made."""
    require(who, "finance", "auditor")
    rows = proposals(svc.db, status=status, after=cursor, limit=limit)
    items = [{**{k: v for k, v in row.items() if k not in ("proposal_id", "decided_position")},
              "id": row["proposal_id"]} for row in rows]
    return {"items": items, "next_cursor": rows[-1]["position"] if len(rows) == limit else None}


@router.post("/proposals/{proposal_id}/approve", status_code=201, response_model=ProposalDecided)
async def approve_proposal(proposal_id: UUID, body: ApprovalIn, request: Request, svc: Svc,
                           who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Carry out a pending proposal, its rules checked again now (409 `insufficient_funds` when
    the money went meanwhile: it stays pending). 403 `same_person` for its proposer, 409
    `already_decided` once it was approved or rejected."""
    require(who, "finance")
    return await run_command(request, who, idempotency_key, body, svc.ledger.approve_proposal,
                             proposal_id=proposal_id, reason=body.reason)


@router.post("/proposals/{proposal_id}/reject", status_code=201, response_model=ProposalDecided)
async def reject_proposal(proposal_id: UUID, body: RejectionIn, request: Request, svc: Svc,
                          who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Refuse a pending proposal, for the reason given; its proposer may withdraw it so."""
    require(who, "finance")
    return await run_command(request, who, idempotency_key, body, svc.ledger.reject_proposal,
                             proposal_id=proposal_id, reason=body.reason)
