"""Bank reconciliation (finance; auditors read): accounts, statement imports, matches, the
reconciliation report, and the VietQR of a pledge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from adapters import vietqr
from adapters.statements import DEFAULT_LIMITS, StatementError
from api.deps import (
    Caller,
    Consistent,
    IdemKey,
    Svc,
    context,
    period,
    principal,
    request_hash,
    require,
    run_command,
)
from api.problems import Problem
from api.schemas import (
    BankAccountIn,
    Code,
    Created,
    MatchCreated,
    MatchIn,
    Page,
    QueryDate,
    StatementFormat,
    StatementImported,
    UndoIn,
)
from domain.donors import Pledge
from domain.matching import payment_code
from ledger import reports
from ledger.bootstrap import CompositionRoot
from ledger.statement_import import import_file

# Authenticate before waiting for a position (read your writes), as the other readers do.
router = APIRouter(tags=["bank"], dependencies=[Depends(principal), Consistent])
READERS = ("finance", "auditor")


@router.post("/bank-accounts", status_code=201, response_model=Created)
async def register_account(body: BankAccountIn, request: Request, svc: Svc, who: Caller,
                           idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    found = vietqr.find_bank(body.bank)
    return await run_command(
        request, who, idempotency_key, body, svc.bank.register_account, code=body.code,
        bank=found.short_name if found else body.bank, bank_bin=found.bin if found else None,
        account_number=body.account_number, fund=body.fund, currency=body.currency)


@router.get("/bank-accounts", response_model=Page)
def accounts(svc: Svc, who: Caller) -> dict[str, Any]:
    require(who, *READERS)
    return {"items": svc.bank_queries.accounts(), "next_cursor": None}


@router.post("/bank-accounts/{code}/statements", status_code=201, response_model=StatementImported)
async def import_statement(
    code: Code, request: Request, svc: Svc, who: Caller,
    file: Annotated[UploadFile, File(description="the statement: CSV, XLSX or camt.053 XML")],
    format: Annotated[StatementFormat | None, Form()] = None,
    idempotency_key: IdemKey = None,
) -> dict[str, Any]:
    require(who, "finance")
    # The body limit (settings) stops a larger upload first; this holds for any setting.
    data = await file.read(DEFAULT_LIMITS.max_bytes + 1)
    if len(data) > DEFAULT_LIMITS.max_bytes:
        raise Problem(422, "statement_too_large", "Statement refused",
                      f"a statement file may hold at most {DEFAULT_LIMITS.max_bytes // 2**20} MB")
    ctx = context(request, who, idempotency_key)
    digest = request_hash(request, {"file": reports.sha256(data), "format": format})
    try:
        return await run_in_threadpool(import_file, svc, ctx, digest, code, data, format,
                                       file.filename)
    except StatementError as e:
        raise Problem(422, e.code, "Statement refused", e.detail, line=e.line) from e


@router.get("/bank-accounts/{code}/lines", response_model=Page)
def lines(code: Code, svc: Svc, who: Caller,
          start: Annotated[QueryDate | None, Query(alias="from")] = None,
          end: Annotated[QueryDate | None, Query(alias="to")] = None) -> dict[str, Any]:
    """The account's statement lines in the period (all by default), each with its match."""
    require(who, *READERS)
    _account(svc, code)
    first, last = period(start, end)
    return {"items": svc.bank_queries.lines(code, first, last), "next_cursor": None}


@router.post("/matches", status_code=201, response_model=MatchCreated)
async def match(body: MatchIn, request: Request, svc: Svc, who: Caller,
                idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    ctx = context(request, who, idempotency_key)
    digest = request_hash(request, body)
    if body.create_receipt is not None:
        wanted = body.create_receipt
        result: Mapping[str, Any] = await run_in_threadpool(
            svc.bank.receipt_from_line, ctx, digest, bank_line_id=body.bank_line_id,
            donor_id=wanted.donor_id, note=wanted.note, rate=wanted.rate, rate_source=wanted.rate_source,
            restriction=wanted.restriction.model_dump(exclude_none=True) if wanted.restriction else None)
    else:
        assert body.target_id is not None
        result = await run_in_threadpool(svc.bank.match, ctx, digest, bank_line_id=body.bank_line_id,
                                         target_id=body.target_id)
    return result


@router.post("/matches/{match_id}/undo", status_code=201, response_model=MatchCreated)
async def undo(match_id: UUID, body: UndoIn, request: Request, svc: Svc, who: Caller,
               idempotency_key: IdemKey = None) -> Mapping[str, Any]:
    require(who, "finance")
    return await run_command(request, who, idempotency_key, body, svc.bank.undo,
                             match_id=match_id, reason=body.reason)


_FILE = {"schema": {"type": "string", "format": "binary"}}


@router.get("/reconciliation", response_model=None, responses={200: {
    "description": "the report: JSON, or a CSV or XLSX file with `format`",
    "content": {"application/json": {"schema": {"type": "object"}},
                "text/csv": _FILE, reports.XLSX: _FILE}}})
def reconciliation(
    svc: Svc, who: Caller, account: Code,
    start: Annotated[QueryDate | None, Query(alias="from")] = None,
    end: Annotated[QueryDate | None, Query(alias="to")] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    require(who, *READERS)
    row = _account(svc, account)
    first, last = period(start, end)
    report = svc.bank_queries.reconciliation(row, first, last)
    if format == "json":
        return report
    name = f"doi-soat-{account}-{first}-{last}.{format}"
    body, media = ((reports.reconciliation_csv(report), "text/csv; charset=utf-8") if format == "csv"
                   else (reports.reconciliation_xlsx(report), reports.XLSX))
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/pledges/{pledge_id}/vietqr", response_model=None, responses={200: {
    "description": "the VietQR payload as JSON, or its image with `format=png`",
    "content": {"application/json": {"schema": {"type": "object"}}, "image/png": _FILE}}})
def pledge_vietqr(
    pledge_id: UUID, svc: Svc, who: Caller,
    account: Code | None = None,
    format: Literal["json", "png"] = "json",
) -> Any:
    """The VietQR a donor scans to pay a pledge: the fund's account, the amount still due, and
    the pledge's payment code as the transfer's purpose, so that the transfer matches by itself."""
    require(who, *READERS)
    pledge = svc.ledger.require(pledge_id, Pledge, "pledge")  # a worker thread: this is a plain def
    if pledge.goods is not None or pledge.cancelled:
        raise Problem(422, "validation_error", "No payment for this pledge",
                      "the pledge is of goods or was cancelled")
    row = _account(svc, account) if account else _only_account(svc)
    if not row["bank_bin"]:
        raise Problem(422, "validation_error", "Unknown bank",
                      f"the bank of account {row['code']} has no NAPAS BIN, so it has no VietQR")
    # The amount due must count every payment recorded so far, not what a lagging read model says.
    svc.runner.ensure(svc.ledger.recorder.max_notification_id() or 0)
    donor = svc.queries.donor(str(pledge.donor_id))
    outstanding = next((p["outstanding_vnd"] for p in (donor or {}).get("outstanding_pledges", [])
                        if p["pledge_id"] == str(pledge_id)), 0)
    if not outstanding:
        # Paid in full: a QR for the whole amount again would ask the donor to pay twice.
        raise Problem(409, "conflict", "Nothing left to pay", "the pledge is paid in full")
    code = payment_code(pledge_id)
    text = vietqr.payload(row["bank_bin"], row["account_number"], outstanding or None, code)
    if format == "png":
        return Response(vietqr.png(text), media_type="image/png")
    return {"pledge_id": pledge_id, "payment_code": code, "account": row["code"],
            "bank": row["bank"], "account_number": row["account_number"], "amount_vnd": outstanding,
            "payload": text}


def _account(svc: CompositionRoot, code: str) -> dict[str, Any]:
    row = svc.bank_queries.account(code)
    if row is None:
        raise Problem(404, "not_found", "Not found", f"no bank account {code!r}")
    return dict(row)


def _only_account(svc: CompositionRoot) -> dict[str, Any]:
    """A pledge names no fund: the one account there is, else the social campaign's one account
    (where pledges are mobilised)."""
    rows = svc.bank_queries.accounts()
    if len(rows) != 1:
        rows = [r for r in rows if r["fund"] == "campaign"]
    if len(rows) != 1:
        raise Problem(422, "validation_error", "Which account?",
                      "name the bank account that should receive the payment (?account=CODE)")
    return dict(rows[0])
