"""The reports the plan asks for (issue 13), for staff and auditors: JSON, CSV or XLSX."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Caller, Consistent, Svc, period, principal, require
from api.schemas import DateBasis, QueryDate
from ledger import plan_reports
from ledger.reports import XLSX

# Authenticate before waiting for a position (as api/routes/queries.py).
router = APIRouter(tags=["reports"], dependencies=[Depends(principal), Consistent])
READERS = ("finance", "district", "auditor")
Format = Literal["json", "csv", "xlsx"]
Start = Annotated[QueryDate | None, Query(alias="from")]
End = Annotated[QueryDate | None, Query(alias="to")]
_FILE = {"schema": {"type": "string", "format": "binary"}}
FILES: dict[int | str, dict[str, Any]] = {200: {
    "description": "the report: JSON, or a CSV or XLSX file with `format`",
    "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": _FILE, XLSX: _FILE}}}


def _answer(report: dict[str, Any], format: Format, name: str,
            rows: Callable[[dict[str, Any]], Iterator[tuple[Any, ...]]], sheet: str) -> Any:
    if format == "json":
        return report
    body, media = ((plan_reports.table_csv(rows(report)), "text/csv; charset=utf-8")
                   if format == "csv" else (plan_reports.table_xlsx(rows(report), sheet), XLSX))
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})


@router.get("/reports/mobilisation", response_model=None, responses=FILES)
def mobilisation(svc: Svc, who: Caller, start: Start = None, end: End = None,
                 format: Format = "json", by: DateBasis = "business") -> Any:
    """The report to the Department of Labour, Invalids and Social Affairs for a period:
    resources mobilised per partner organisation and per source (cash and goods apart, by the
    receipts' business dates), allocations of the seasons meeting the period and distributions
    dated in it, per category and district, and the children supported (`total_received_vnd`,
    `by_partner[{partner, name, received_vnd, cash_vnd, goods_vnd, by_fund}]`,
    `children_supported`, …). `by=recorded` dates each entry by the day it was recorded
    instead (allocations too), as the books stand now."""
    require(who, *READERS)
    first, last = period(start, end)
    return _answer(plan_reports.mobilisation_report(svc, first, last, by), format,
                   f"bao-cao-van-dong-{first}-{last}", plan_reports.mobilisation_rows,
                   "Bao cao van dong")


@router.get("/reports/recognition", response_model=None, responses=FILES)
def recognition(svc: Svc, who: Caller, start: Start = None, end: End = None,
                format: Format = "json", by: DateBasis = "business") -> Any:
    """Donors ranked by money and goods received in the period, with the commendation tier each
    reaches (setting `MINHBACH_RECOGNITION_TIERS`); anonymous donors listed as "Ẩn danh", never
    named nor identified."""
    require(who, *READERS)
    first, last = period(start, end)
    return _answer(plan_reports.recognition_report(svc, first, last, by), format,
                   f"ton-vinh-{first}-{last}", plan_reports.recognition_rows, "Ton vinh")


@router.get("/reports/pledges", response_model=None, responses=FILES)
def pledges(svc: Svc, who: Caller, as_of: QueryDate | None = None, format: Format = "json",
            by: DateBasis = "business") -> Any:
    """Pledges outstanding on `as_of` (default today; receipts counted by their business dates up
    to it), the overdue ones first, with the days each is overdue."""
    require(who, *READERS)
    day = (as_of or dt.date.today()).isoformat()
    return _answer(plan_reports.pledges_report(svc, day, by), format, f"cam-ket-{day}",
                   plan_reports.pledges_rows, "Cam ket")
