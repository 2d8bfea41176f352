"""Public, unauthenticated reads: reference data, the summary, donations, needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.deps import Consistent, Svc
from api.problems import Problem
from api.routes import MAX_INT64
from api.schemas import Page, QueryDate, Season
from domain.money import CATEGORIES, FUNDS, MAX_AMOUNT_VND
from ledger.proofs import donation_with_proof
from projections.after_closing import recorded_after_closing

router = APIRouter(tags=["public"])
PUBLIC_CACHE = "public, max-age=10"


@router.get("/areas", response_model=Page)
def areas(svc: Svc, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=3600"
    items = [{"code": a.code, "name": a.name, "kind": a.kind, "parent": a.parent,
              "extremely_difficult": a.extremely_difficult} for a in svc.areas.all()]
    return {"items": items, "next_cursor": None}


@router.get("/funds", response_model=Page)
def funds(response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return {"items": [{"code": k, **v} for k, v in FUNDS.items()], "next_cursor": None}


@router.get("/categories", response_model=Page)
def categories(response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return {"items": [{"code": k, **v} for k, v in CATEGORIES.items()], "next_cursor": None}


@router.get("/public/summary", dependencies=[Consistent])
def summary(svc: Svc, response: Response, season: Season | None = None) -> dict[str, Any]:
    """The public overview. `received_vnd` (and `by_fund`, `by_month`), `allocated_vnd` and
    `distributed_vnd` count money and goods alike, goods at quantity × unit value: they say how
    much was given and where it went, not how much money is left to allocate (staff see that,
    money apart from goods, at /balances/funds and /balances/stock)."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    # DESIGN §7: the summary names the latest signed tree head, so its figures can be checked.
    # With witnesses, the latest head their quorum cosigned, its checkpoint and cosignatures.
    head = svc.checkpoints.published()
    return {**svc.queries.summary(season), "tree_head": head,
            "publication": svc.checkpoints.publication(head)}


@router.get("/public/donations", response_model=Page, dependencies=[Consistent])
def donations(
    svc: Svc, response: Response,
    q: Annotated[str | None, Query(max_length=100)] = None,
    min_vnd: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT_VND)] = None,
    max_vnd: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT_VND)] = None,
    date_from: Annotated[QueryDate | None, Query(alias="from")] = None,
    date_to: Annotated[QueryDate | None, Query(alias="to")] = None,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    response.headers["Cache-Control"] = PUBLIC_CACHE
    items, next_cursor = svc.queries.donations(
        q=q, min_vnd=min_vnd, max_vnd=max_vnd,
        date_from=date_from.isoformat() if date_from else None,
        date_to=date_to.isoformat() if date_to else None, cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/public/donations/by-bank-reference/{bank_reference}", dependencies=[Consistent],
            summary="Find one's own gift by the bank's transaction reference",
            responses={404: {"description": "No receipt was recorded with this bank reference"}})
def donation_by_bank_reference(
    bank_reference: Annotated[str, Path(min_length=1, max_length=64)], svc: Svc, response: Response,
) -> dict[str, Any]:
    """Exact match on the transaction reference printed in the bank's notification of a
    transfer (the receipt's `bank_txn_id`). Answers that one gift's public facts (the same
    fields as a row of `/public/donations`, and whether it was reversed), never a list, never
    the bank reference itself; follow `reference` to `/public/donations/{reference}` for where
    the money went and its proof. No partial or case-folded match: knowing the exact reference
    is what shows the gift is one's own."""
    found = svc.queries.donation_by_bank_reference(bank_reference)
    # Kept out of shared caches: the URL carries the donor's bank reference.
    response.headers["Cache-Control"] = "no-store"
    if found is None:
        raise Problem(404, "not_found", "Not found", "no receipt with this bank reference")
    return found


@router.get("/public/donations/{reference}", dependencies=[Consistent])
def donation(reference: str, svc: Svc, response: Response) -> dict[str, Any]:
    found = donation_with_proof(svc, reference)
    if found is None:
        raise Problem(404, "not_found", "Not found", f"no receipt with reference {reference}")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return found


@router.get("/public/needs", response_model=Page, dependencies=[Consistent])
def needs(svc: Svc, response: Response, season: Season | None = None) -> dict[str, Any]:
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return {"items": svc.queries.needs(season), "next_cursor": None}


@router.get("/public/seasons/{code}", dependencies=[Consistent])
def season(svc: Svc, response: Response, code: Annotated[Season, Path()]) -> dict[str, Any]:
    """A season with the entries recorded after it was closed (their public facts; the admin's
    reason for each stays sealed in the ledger)."""
    found = next((x for x in svc.ledger.seasons() if x["code"] == code), None)
    if found is None:
        raise Problem(404, "not_found", "No such season", f"no season {code} was opened")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return {**found, "recorded_after_closing": [
        {**row, "reversed": bool(row["reversed"])} for row in recorded_after_closing(svc.db, code)]}
