"""The verifiable log over HTTP (DESIGN §5): raw events, tree heads, RFC 9162 proofs."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import Caller, Svc, require
from api.problems import Problem
from api.routes import MAX_INT64
from api.schemas import DateBasis, QueryDate
from domain import merkle
from ledger.audit import leaf_record, replay_balances
from ledger.proofs import inclusion_proof
from projections.merkle import fetcher, leaf_count

router = APIRouter(prefix="/audit", tags=["audit"])
MAX_EVENTS_PAGE = 5000


@router.get("/tree-head")
def tree_head(svc: Svc, response: Response) -> dict[str, Any]:
    head = svc.tree_heads.latest()
    if head is None:
        raise Problem(404, "not_found", "No tree head yet", "no signed tree head is published yet")
    response.headers["Cache-Control"] = "public, max-age=2"
    return head


CHECKPOINT_TYPE = "text/plain; charset=utf-8"


class CosignaturesIn(BaseModel):
    note: str = Field(max_length=1 << 16, description="the checkpoint note (as GET /audit/checkpoint"
                      " gives it) with the witness's cosignature/v1 line(s) after the signatures")


@router.get("/checkpoint", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def checkpoint(svc: Svc, tree_size: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None) -> Response:
    """The latest signed tree head (or the one of `tree_size`) as a C2SP tlog-checkpoint signed
    note, with every configured witness's cosignature it has."""
    head = svc.tree_heads.latest() if tree_size is None else svc.db.query_one(
        "SELECT tree_size, root_hash, timestamp, signature FROM tree_heads WHERE tree_size = ?",
        (tree_size,))
    if head is None:
        raise Problem(404, "not_found", "No such checkpoint", "no signed tree head of that size")
    return Response(svc.checkpoints.note(head), media_type=CHECKPOINT_TYPE,
                    headers={"Cache-Control": "no-cache"})


@router.get("/witnesses")
def witnesses(svc: Svc) -> dict[str, Any]:
    """The checkpoint origin, the log's note key, the witnesses whose cosignatures count, the
    quorum, and the latest head that quorum cosigned."""
    return {**svc.checkpoints.describe(),
            "published": svc.checkpoints.publication(svc.checkpoints.published())}


@router.post("/cosignatures", status_code=201)
def cosignatures(svc: Svc, body: CosignaturesIn) -> dict[str, Any]:
    """A witness hands back its cosignature: accepted only under a configured witness key, over
    a checkpoint this ledger signed, and when it verifies (else `witness_unknown`,
    `checkpoint_unknown`, `cosignature_invalid`). No token: the signature is the credential."""
    return svc.checkpoints.add(body.note.encode("utf-8"))


@router.get("/tree-heads")
def tree_heads(svc: Svc, after: Annotated[int, Query(ge=-1, le=MAX_INT64)] = -1,
               limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> dict[str, Any]:
    items = svc.tree_heads.all(after, limit)
    next_cursor = items[-1]["tree_size"] if len(items) == limit else None
    return {"items": items, "next_cursor": next_cursor}


@router.get("/public-key")
def public_key(svc: Svc, response: Response) -> dict[str, str]:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return {"algorithm": "Ed25519", "public_key": svc.tree_heads.public_key}


@router.get("/proofs/inclusion")
def proof_inclusion(svc: Svc, position: Annotated[int, Query(ge=1, le=MAX_INT64)],
                    tree_size: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None) -> dict[str, Any]:
    return inclusion_proof(svc, position, tree_size)


@router.get("/proofs/consistency")
def proof_consistency(svc: Svc, first: Annotated[int, Query(ge=1, le=MAX_INT64)],
                      second: Annotated[int, Query(ge=1, le=MAX_INT64)]) -> dict[str, Any]:
    with svc.db.read() as cur:
        size = leaf_count(cur)
        if not first <= second <= size:
            raise Problem(422, "validation_error", "Bad tree sizes",
                          f"need 1 ≤ first ≤ second ≤ {size}")
        proof = merkle.consistency_proof(first, second, fetcher(cur))
    return {"first": first, "second": second, "proof": [h.hex() for h in proof]}


@router.get("/balances")
def balances_as_of(svc: Svc, who: Caller, as_of: QueryDate,
                   by: DateBasis = "recorded") -> dict[str, Any]:
    """Fund and programme balances at the end of `as_of`, replayed from the log: as recorded by
    then (UTC), or as had happened by then by business date (`by=business`)."""
    require(who, "finance", "district", "auditor")
    return {"as_of": as_of.isoformat(), "by": by, **replay_balances(svc, as_of.isoformat(), by)}


@router.get("/events")
def events(svc: Svc, who: Caller, after: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
           limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 1000) -> dict[str, Any]:
    """The raw log as stored, with each event's place in the Merkle tree and its public leaf
    (`leaf`, base64 of the leaf bytes: its public facts and the sealed digest of the rest)."""
    require(who, "auditor")
    stored = svc.ledger.recorder.select_notifications(start=after + 1, limit=limit)
    if not stored:
        return {"items": [], "next_cursor": None}
    leaves = {
        int(r["position"]): r for r in svc.db.query(
            "SELECT position, leaf_index, leaf_hash, leaf FROM merkle_leaves"
            " WHERE position >= ? AND position <= ?", (stored[0].id, stored[-1].id))
    }
    items = []
    for n in stored:
        leaf = leaves.get(n.id)
        if leaf is None:
            break  # not yet in the tree: the next page will carry it
        items.append({**leaf_record(n), "leaf_index": int(leaf["leaf_index"]),
                      "leaf_hash": leaf["leaf_hash"],
                      "leaf": base64.b64encode(str(leaf["leaf"]).encode("utf-8")).decode("ascii")})
    next_cursor = items[-1]["position"] if len(items) == limit else None
    if len(items) < len(stored):
        next_cursor = items[-1]["position"] if items else after
    return {"items": items, "next_cursor": next_cursor}
