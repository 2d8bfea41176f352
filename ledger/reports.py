"""The reconciliation report as files finance staff keep: CSV (UTF-8 with BOM, so that Excel
reads Vietnamese text right) and XLSX (openpyxl). Every cell goes through adapters.spreadsheet, since
bank texts and names are written by outsiders."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from adapters.spreadsheet import safe_row
from domain.bank import minor_digits
from domain.text import format_vnd

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LINE_COLUMNS = ("booked_on", "amount_vnd", "bank_txn_id", "counterparty", "description", "line_id")
ENTRY_COLUMNS = ("booked_on", "amount_vnd", "reference", "bank_txn_id", "kind", "entry_id")
SUGGESTION_COLUMNS = ("bank_line_id", "target_id", "kind", "reference", "score", "reason")
GAP_COLUMNS = ("after_statement", "before_statement", "from", "to", "uncovered_days",
               "expected_opening_vnd", "opening_vnd")
HEADINGS = (LINE_COLUMNS, ENTRY_COLUMNS, SUGGESTION_COLUMNS, GAP_COLUMNS)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verdict_line(report: dict[str, Any]) -> str:
    currency = report.get("currency", "VND")
    if currency != "VND":
        # A foreign account's figures are minor units of its currency.
        amount = f"{Decimal(report['difference']).scaleb(-minor_digits(currency))} {currency}"
        if report["reconciled"]:
            return f"Đã khớp: chênh lệch 0 {currency} / Reconciled: difference 0 {currency}"
        return f"Chưa khớp: chênh lệch {amount} / Not reconciled: difference {amount}"
    if report["reconciled"]:
        return "Đã khớp: sổ cái và ngân hàng bằng nhau, chênh lệch 0 ₫ / Reconciled: difference 0 ₫"
    return (f"Chưa khớp: chênh lệch {format_vnd(report['difference_vnd'])}"
            f" / Not reconciled: difference {format_vnd(report['difference_vnd'])}")


def gap_text(gap: dict[str, Any]) -> str:
    """One gap between two statements of the account, in Vietnamese and English."""
    parts = []
    if gap["uncovered_days"] > 0:
        parts.append(f"thiếu sao kê {gap['uncovered_days']} ngày giữa {gap['from']} và {gap['to']}"
                     f" / no statement covers {gap['uncovered_days']} day(s) between {gap['from']}"
                     f" and {gap['to']}")
    if gap["opening_vnd"] != gap["expected_opening_vnd"]:
        parts.append(f"số dư đầu kỳ {format_vnd(gap['opening_vnd'])}, lẽ ra"
                     f" {format_vnd(gap['expected_opening_vnd'])} / opening balance"
                     f" {format_vnd(gap['opening_vnd'])}, expected {format_vnd(gap['expected_opening_vnd'])}")
    return (f"Sao kê {gap['before_statement']} không nối tiếp sao kê {gap['after_statement']}"
            f" / statement {gap['before_statement']} does not follow on from {gap['after_statement']}: "
            + "; ".join(parts))


def verdict(report: dict[str, Any]) -> str:
    """The verdict, then one line per gap between statements (the CLI prints this as it is)."""
    return "\n".join([_verdict_line(report), *(gap_text(g) for g in report.get("gaps", ()))])


def _rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The report as one table: a summary, then each list under its own heading."""
    yield ("Đối soát / Reconciliation", report["account"], report["fund"], report["from"], report["to"])
    figures = (("opening_balance_vnd", "ledger_balance_vnd", "bank_balance_vnd", "difference_vnd")
               if report.get("currency", "VND") == "VND" else
               ("currency", "opening_balance", "ledger_balance", "bank_balance", "difference", "matched_vnd"))
    for key in (*figures, "matched"):
        yield (key, report[key])
    yield ("verdict", _verdict_line(report))
    for title, key, columns in (
        ("unmatched_bank_lines", "unmatched_bank_lines", LINE_COLUMNS),
        ("unmatched_ledger_entries", "unmatched_ledger_entries", ENTRY_COLUMNS),
        ("suggestions", "suggestions", SUGGESTION_COLUMNS),
        ("gaps", "gaps", GAP_COLUMNS),
    ):
        items = report.get(key, [])
        yield ()
        yield (title, len(items))
        yield columns
        for item in items:
            yield tuple(item.get(c) for c in columns)


def reconciliation_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _rows(report):
        writer.writerow(safe_row(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def reconciliation_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Doi soat"
    bold = Font(bold=True)
    for row in _rows(report):
        sheet.append(safe_row(row))
        if row and isinstance(row[0], str) and (len(row) <= 2 or row in HEADINGS):
            sheet.cell(row=sheet.max_row, column=1).font = bold
    for column, width in zip("ABCDEFG", (26, 16, 22, 30, 50, 38, 16), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
