"""Staff and auditor queries over the read models."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.deps import STAFF, Caller, Consistent, Svc, principal, require, require_district
from api.problems import Problem
from api.schemas import Category, ChildrenFound, DuplicateGroups, Fund, Page, Season, StockLevel, StockPage
from domain.children import Child
from domain.donors import Donor
from domain.text import MAX_NAME
from projections.children import children_in

# Authenticate before waiting for a position: nobody unknown may hold a worker thread.
router = APIRouter(tags=["balances"], dependencies=[Depends(principal), Consistent])
READERS = (*STAFF, "auditor")
CHILD_CODE = re.compile(r"TE-[0-9A-F]{8}")
ERASED = "[đã xoá]"  # shown for a donor's legal name or a child's personal fields once their key is erased


@router.get("/balances/funds", response_model=Page)
def fund_balances(svc: Svc, who: Caller) -> dict[str, Any]:
    """Per fund and restriction: `received_vnd`, `allocated_vnd`, `returned_vnd` (money and goods
    at their value), `available_vnd` (money only: what a money allocation can take) and
    `goods_value_vnd` (the goods still in the fund, by item and unit at /balances/stock)."""
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
    """Per programme: `allocated_vnd`, `distributed_vnd`, `returned_vnd` (money and goods at
    their value), `remaining_vnd` (money only: what money lines can take), `goods_value_vnd`
    (the goods still in the programme) and `children_reached`."""
    require(who, *READERS)
    items = svc.queries.programme_balances(season=season, district=district, commune=commune,
                                           category=category)
    return {"items": items, "next_cursor": None}


@router.get("/balances/stock", response_model=StockPage)
def stock(
    svc: Svc, who: Caller,
    fund: Fund | None = None,
    season: Season | None = None,
    commune: Annotated[str | None, Query(max_length=40)] = None,
    category: Category | None = None,
    level: StockLevel | None = None,
) -> dict[str, Any]:
    """Goods in stock per item and unit, at the fund level (received, not yet allocated) and at
    the programme level (allocated, not yet distributed). `season`, `commune` and `category`
    select programmes (so the fund level is left out); `fund` selects both levels."""
    require(who, *READERS)
    items = svc.queries.stock(fund=fund, season=season, commune=commune, category=category,
                              level=level)
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


@router.get("/children", response_model=ChildrenFound)
def find_children(
    svc: Svc, who: Caller,
    commune: Annotated[str, Query(min_length=1, max_length=40)],
    q: Annotated[str, Query(min_length=1, max_length=MAX_NAME, description="a child's code, or full name")],
) -> dict[str, Any]:
    """A child of a commune by code (`TE-…`, any case) or by exact full name, any case and
    diacritics, through the name's keyed blind index: no record is decrypted to search. Ids,
    codes and places only; an erased child is no longer found by name."""
    require(who, *READERS)
    svc.areas.district_of(commune)  # an unknown commune is refused
    require_district(svc, who, commune)
    wanted = q.strip()
    if CHILD_CODE.fullmatch(wanted.upper()):
        rows = children_in(svc.db, commune, code=wanted.upper())
    else:
        rows = children_in(svc.db, commune,
                           child_ids=[str(c) for c in svc.ledger.children_named(wanted, commune)])
    items = []
    for row in rows:
        child = svc.ledger.find_or_none(UUID(row["child_id"]), Child)
        items.append({"id": row["child_id"], "code": row["code"], "district": row["district"],
                      "commune": row["commune"], "registered_position": row["position"],
                      "merged_into": child.merged_into if child else None})
    return {"items": items, "next_cursor": None}


@router.get("/children/duplicates", response_model=DuplicateGroups)
def child_duplicates(
    svc: Svc, who: Caller,
    commune: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
) -> dict[str, Any]:
    """Groups of two or more live records with the same folded name, birth year and commune:
    likely one child registered twice, to merge (`POST /children/{id}/merge`) or leave be."""
    require(who, *READERS)
    if commune is not None:
        svc.areas.district_of(commune)
        require_district(svc, who, commune)
    district = who.district if who.role == "district" else None
    return {"items": svc.ledger.child_duplicates(district=district, commune=commune),
            "next_cursor": None}


@router.get("/children/{child_id}/history")
def child_history(child_id: UUID, svc: Svc, who: Caller) -> dict[str, Any]:
    require(who, *READERS)
    child = svc.queries.child(str(child_id))
    # Another district's child is answered as no child at all: a 403 would tell the officer
    # that the id exists (issue 12).
    if child is None or (who.role == "district" and child["district"] != who.district):
        raise Problem(404, "not_found", "Not found", f"no child with id {child_id}")
    # A plain `def`: FastAPI runs it in a worker thread, so these reads never block the loop.
    aggregate = svc.ledger.require(child_id, Child, "child")
    personal = svc.ledger.child_personal_data(aggregate)
    # Once the key is gone, the fields it had are each shown erased (which ones were recorded
    # is in the log anyway).
    shown = dict.fromkeys(aggregate.sealed, ERASED) if personal is None else personal
    return {**child, "personal": shown, "erased": aggregate.erased or personal is None,
            "support": svc.queries.child_history(str(child_id))}
