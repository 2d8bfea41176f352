"""The reports the plan asks for (issue 13), for staff and auditors: JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Caller, Consistent, Svc, period, principal, require
from api.schemas import QueryDate
from ledger.mobilisation import mobilisation_csv, mobilisation_report, mobilisation_xlsx
from ledger.reports import XLSX

# Authenticate before waiting for a position (as api/routes/queries.py).
router = APIRouter(tags=["reports"], dependencies=[Depends(principal), Consistent])
READERS = ("finance", "district", "auditor")
_FILE = {"schema": {"type": "string", "format": "binary"}}


@router.get("/reports/mobilisation", response_model=None, responses={200: {
    "description": "the report: JSON, or a CSV or XLSX file with `format`",
    "content": {"application/json": {"schema": {"type": "object"}},
                "text/csv": _FILE, XLSX: _FILE}}})
def mobilisation(
    svc: Svc, who: Caller,
    start: Annotated[QueryDate | None, Query(alias="from")] = None,
    end: Annotated[QueryDate | None, Query(alias="to")] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    """The report to the Department of Labour, Invalids and Social Affairs for a period:
    resources mobilised per partner organisation and per source (cash and goods apart, by the
    receipts' business dates), allocations of the seasons meeting the period and distributions
    dated in it, per category and district, and the children supported (`total_received_vnd`,
    `by_partner[{partner, name, received_vnd, cash_vnd, goods_vnd, by_fund}]`,
    `children_supported`, …)."""
    require(who, *READERS)
    first, last = period(start, end)
    report = mobilisation_report(svc, first, last)
    if format == "json":
        return report
    name = f"bao-cao-van-dong-{first}-{last}.{format}"
    body, media = ((mobilisation_csv(report), "text/csv; charset=utf-8") if format == "csv"
                   else (mobilisation_xlsx(report), XLSX))
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
