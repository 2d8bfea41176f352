"""Command endpoints (DESIGN §7): parse, check the caller, call one ledger method, answer 201."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import Caller, IdemKey, Svc, require, require_district, run_command
from api.schemas import (
    AllocationCreated,
    AllocationIn,
    ChildCorrectionIn,
    ChildCreated,
    ChildIn,
    ChildMergeIn,
    ChildTransferIn,
    Created,
    DistributionCreated,
    DistributionIn,
    DonorCorrectionIn,
    DonorIn,
    Model,
    NeedCorrectionIn,
    NeedIn,
    PledgeCreated,
    PledgeIn,
    ProposalCreated,
    Reason,
    ReceiptCreated,
    ReceiptIn,
    ReversalCreated,
    ReversalIn,
)
from domain.matching import payment_code

router = APIRouter(tags=["commands"])


# Four eyes (issue 12, item 8): above MINHBACH_FOUR_EYES_VND an allocation or a reversal is only
# proposed; the answer says so with its own status and shape.
PROPOSED: dict[int | str, dict[str, Any]] = {202: {
    "model": ProposalCreated,
    "description": "above the four-eyes amount: recorded as a proposal, which takes effect when "
                   "another finance or admin approves it (POST /proposals/{id}/approve)"}}


def _done_or_proposed(result: Mapping[str, Any]) -> Mapping[str, Any] | JSONResponse:
    if result.get("status") == "proposed":
        return JSONResponse(ProposalCreated.model_validate(result).model_dump(mode="json"),
                            status_code=202)
    return result


@router.post("/donors", status_code=201, response_model=Created)
async def create_donor(body: DonorIn, request: Request, svc: Svc, who: Caller,
                       idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    return await run_command(request, who, idempotency_key, body, svc.ledger.register_donor,
                      **body.model_dump())


class ErasureIn(Model):
    reason: Reason


@router.post("/donors/{donor_id}/erase", status_code=201, response_model=Created)
async def erase_donor(donor_id: UUID, body: ErasureIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Crypto-shred the donor's legal name and contact (their key is deleted); amounts, proofs
    and the public name stay. The reason is recorded; nothing personal is."""
    require(who, "admin")
    return await run_command(request, who, idempotency_key, body, svc.ledger.erase_donor,
                      donor_id=donor_id, reason=body.reason)


@router.post("/pledges", status_code=201, response_model=PledgeCreated)
async def create_pledge(body: PledgeIn, request: Request, svc: Svc, who: Caller,
                        idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    data = body.model_dump(mode="json")
    made = await run_command(request, who, idempotency_key, body, svc.ledger.make_pledge,
                      **{**data, "donor_id": body.donor_id})
    return dict(made, payment_code=payment_code(UUID(made["id"])))


@router.post("/receipts", status_code=201, response_model=ReceiptCreated)
async def create_receipt(body: ReceiptIn, request: Request, svc: Svc, who: Caller,
                         idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    data = body.model_dump(mode="json")
    return await run_command(request, who, idempotency_key, body, svc.ledger.record_receipt,
                      **{**data, "donor_id": body.donor_id, "pledge_id": body.pledge_id})


@router.post("/allocations", status_code=201, response_model=AllocationCreated, responses=PROPOSED)
async def create_allocation(body: AllocationIn, request: Request, svc: Svc, who: Caller,
                            idempotency_key: IdemKey = None) -> Mapping[str, Any] | JSONResponse:
    require(who, "finance")
    return _done_or_proposed(await run_command(request, who, idempotency_key, body,
                                               svc.ledger.allocate, **body.model_dump(mode="json")))


@router.post("/distributions", status_code=201, response_model=DistributionCreated)
async def create_distribution(body: DistributionIn, request: Request, svc: Svc, who: Caller,
                              idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance", "district")
    require_district(svc, who, body.commune)
    return await run_command(request, who, idempotency_key, body, svc.ledger.distribute,
                      **body.model_dump(mode="json"))


@router.post("/reversals", status_code=201, response_model=ReversalCreated, responses=PROPOSED)
async def create_reversal(body: ReversalIn, request: Request, svc: Svc, who: Caller,
                          idempotency_key: IdemKey = None) -> Mapping[str, Any] | JSONResponse:
    require(who, "finance")
    return _done_or_proposed(await run_command(request, who, idempotency_key, body,
                                               svc.ledger.reverse, target_id=body.target_id,
                                               reason=body.reason))


@router.post("/children", status_code=201, response_model=ChildCreated)
async def create_child(body: ChildIn, request: Request, svc: Svc, who: Caller,
                       idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance", "district")
    require_district(svc, who, body.commune)
    personal = body.model_dump(exclude={"commune"})
    return await run_command(request, who, idempotency_key, body, svc.ledger.register_child,
                      commune=body.commune, personal=personal)


@router.post("/children/{child_id}/erase", status_code=201, response_model=Created)
async def erase_child(child_id: UUID, body: ErasureIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Crypto-shred the child's personal fields (their key is deleted); the code, the place, the
    support received, its amounts and proofs stay. The reason is recorded; nothing personal is."""
    require(who, "admin")
    return await run_command(request, who, idempotency_key, body, svc.ledger.erase_child,
                      child_id=child_id, reason=body.reason)


@router.post("/children/{child_id}/merge", status_code=201, response_model=Created)
async def merge_child(child_id: UUID, body: ChildMergeIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Record that this child is a second registration of the child `into`: it can no longer be
    supported, and its standing support counts as the kept child's. A district officer merges
    only children of their own district (another district's child is answered as unknown)."""
    require(who, "finance", "district")
    return await run_command(request, who, idempotency_key, body, svc.ledger.merge_children,
                      child_id=child_id, into=body.into, reason=body.reason,
                      district=who.district if who.role == "district" else None)


@router.post("/needs", status_code=201, response_model=Created)
async def create_need(body: NeedIn, request: Request, svc: Svc, who: Caller,
                      idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance", "district")
    require_district(svc, who, body.commune)
    return await run_command(request, who, idempotency_key, body, svc.ledger.record_need,
                      **body.model_dump(mode="json"))


# ---- corrections (issue 12) -------------------------------------------------------------------

@router.post("/children/{child_id}/transfer", status_code=201, response_model=Created)
async def transfer_child(child_id: UUID, body: ChildTransferIn, request: Request, svc: Svc,
                         who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Move a child to the commune they now live in, for the reason given (a distribution to a
    named child is recorded in the child's commune). A district officer moves only their own
    district's children, within it; a move to another district is finance's."""
    require(who, "finance", "district")
    require_district(svc, who, body.commune)
    return await run_command(request, who, idempotency_key, body, svc.ledger.transfer_child,
                             child_id=child_id, commune=body.commune, reason=body.reason,
                             district=who.district if who.role == "district" else None)


@router.post("/donors/{donor_id}/corrections", status_code=201, response_model=Created)
async def correct_donor(donor_id: UUID, body: DonorCorrectionIn, request: Request, svc: Svc,
                        who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Correct a donor's name, public name, anonymity, kind or contact, for the reason given.
    The public lists show the corrected public name from then on (an anonymous donor stays
    unnamed); the receipts' leaves keep the name they were recorded with."""
    require(who, "finance")
    return await run_command(request, who, idempotency_key, body, svc.ledger.correct_donor,
                      donor_id=donor_id, **body.model_dump())


@router.post("/children/{child_id}/corrections", status_code=201, response_model=Created)
async def correct_child(child_id: UUID, body: ChildCorrectionIn, request: Request, svc: Svc,
                        who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Correct a child's personal fields, for the reason given. A district officer corrects only
    children of their own district (another district's child is answered as unknown)."""
    require(who, "finance", "district")
    return await run_command(request, who, idempotency_key, body, svc.ledger.correct_child,
                      child_id=child_id, reason=body.reason,
                      personal=body.model_dump(exclude={"reason"}),
                      district=who.district if who.role == "district" else None)


@router.post("/needs/{need_id}/corrections", status_code=201, response_model=Created)
async def correct_need(need_id: UUID, body: NeedCorrectionIn, request: Request, svc: Svc,
                       who: Caller, idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    """Correct a need's count and estimate (the id `POST /needs` answered), for the reason given:
    a survey of that need whose note is the reason. A district officer corrects only needs of
    their own district (another district's need is answered as unknown)."""
    require(who, "finance", "district")
    return await run_command(request, who, idempotency_key, body, svc.ledger.correct_need,
                      need_id=need_id, **body.model_dump(),
                      district=who.district if who.role == "district" else None)
