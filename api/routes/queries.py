"""Staff and auditor queries over the read models."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.deps import STAFF, Caller, Consistent, Svc, principal, require
from api.problems import Problem
from api.schemas import Category, Page, Season
from domain.children import Child
from domain.donors import Donor

# Authenticate before waiting for a position: nobody unknown may hold a worker thread.
router = APIRouter(tags=["balances"], dependencies=[Depends(principal), Consistent])
READERS = (*STAFF, "auditor")
ERASED = "[đã xoá]"  # shown for a donor's legal name once their key is erased


@router.get("/balances/funds", response_model=Page)
def fund_balances(svc: Svc, who: Caller) -> dict[str, Any]:
    require(who, *READERS)
    return {"items": svc.queries.fund_balances(), "next_cursor": None}


@router.get("/balances/programmes", response_model=Page)
def programme_balances(
    svc: Svc, who: Caller,
    season: Season | None = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
    commune: Annotated[str | None, Query(max_length=40)] = None,
    category: Category | None = None,
) -> dict[str, Any]:
    require(who, *READERS)
    items = svc.queries.programme_balances(season=season, district=district, commune=commune,
                                           category=category)
    return {"items": items, "next_cursor": None}


@router.get("/donors/{donor_id}")
def donor(donor_id: UUID, svc: Svc, who: Caller) -> dict[str, Any]:
    require(who, *READERS)
    found = svc.queries.donor(str(donor_id))
    if found is None:
        raise Problem(404, "not_found", "Not found", f"no donor with id {donor_id}")
    # The legal name and contact are sealed in the log: decrypted here, for staff only.
    personal = svc.ledger.donor_personal_data(svc.ledger.require(donor_id, Donor, "donor"))
    return {**found, "name": personal["name"] if personal else ERASED,
            "contact": personal["contact"] if personal else None, "erased": personal is None}


@router.get("/children/{child_id}/history")
def child_history(child_id: UUID, svc: Svc, who: Caller) -> dict[str, Any]:
    require(who, *READERS)
    child = svc.queries.child(str(child_id))
    if child is None:
        raise Problem(404, "not_found", "Not found", f"no child with id {child_id}")
    if who.role == "district" and child["district"] != who.district:
        raise Problem(403, "forbidden", "Outside your district",
                      "this child is registered in another district")
    # A plain `def`: FastAPI runs it in a worker thread, so these reads never block the loop.
    aggregate = svc.ledger.require(child_id, Child, "child")
    personal = svc.ledger.child_personal_data(aggregate)
    return {**child, "personal": personal, "erased": personal is None,
            "support": svc.queries.child_history(str(child_id))}
