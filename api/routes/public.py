"""Public, unauthenticated reads: reference data, the summary, donations, needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.audit import leaf_record
from api.deps import Consistent, Svc
from api.problems import Problem
from api.routes import MAX_INT64
from api.routes.audit import inclusion_proof
from api.schemas import Page, QueryDate, Season
from api.services import Services
from domain.money import CATEGORIES, FUNDS, MAX_AMOUNT_VND

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
    response.headers["Cache-Control"] = PUBLIC_CACHE
    # DESIGN §7: the summary names the latest signed tree head, so its figures can be checked.
    return {**svc.queries.summary(season), "tree_head": svc.tree_heads.latest()}


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


@router.get("/public/donations/{reference}", dependencies=[Consistent])
def donation(reference: str, svc: Svc, response: Response) -> dict[str, Any]:
    found = donation_with_proof(svc, reference)
    if found is None:
        raise Problem(404, "not_found", "Not found", f"no receipt with reference {reference}")
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return found


def donation_with_proof(svc: Services, reference: str) -> dict[str, Any] | None:
    """A receipt as the public sees it, where its money went, its leaf, and its inclusion proof
    against the latest signed tree head (None while no tree head covers it yet)."""
    found = svc.queries.donation(reference)
    if found is None:
        return None
    head = svc.tree_heads.latest()
    found["tree_head"] = head
    found["inclusion_proof"] = None
    [stored] = svc.ledger.recorder.select_notifications(start=found["position"], limit=1)
    found["leaf"] = leaf_record(stored)
    if head is not None and found["position"] <= _head_position(svc, int(head["tree_size"])):
        found["inclusion_proof"] = inclusion_proof(svc, found["position"], int(head["tree_size"]))
    return found


def _head_position(svc: Services, tree_size: int) -> int:
    row = svc.db.query_one("SELECT position FROM merkle_leaves WHERE leaf_index = ?",
                           (tree_size - 1,))
    return int(row["position"]) if row else 0


@router.get("/public/needs", response_model=Page, dependencies=[Consistent])
def needs(svc: Svc, response: Response, season: Season | None = None) -> dict[str, Any]:
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return {"items": svc.queries.needs(season), "next_cursor": None}
