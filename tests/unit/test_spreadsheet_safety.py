"""Text that a spreadsheet would run as a formula comes out of every export as plain text (OWASP CSV
injection), while numbers stay numbers; and the reconciliation's text verdict names each gap."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from adapters.spreadsheet import FORMULA_STARTS, safe_cell, safe_row
from ledger import reports

PAYLOADS = ('=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_a_spreadsheet_would_run_gets_a_quote(payload: str) -> None:
    assert safe_cell(payload) == "'" + payload


def test_other_values_are_left_as_they_are() -> None:
    assert safe_row(["Nguyễn Văn An", "PT-2021-000001", "2021-03-01", "", None, -11_000, 0, 0.5, True]) == [
        "Nguyễn Văn An", "PT-2021-000001", "2021-03-01", "", None, -11_000, 0, 0.5, True]
    assert isinstance(safe_cell(-11_000), int)


def _report(payload: str) -> dict[str, Any]:
    """A reconciliation report whose every text field outsiders write holds `payload`."""
    line = {"booked_on": "2021-03-02", "amount_vnd": -11_000, "bank_txn_id": payload, "counterparty": payload,
            "description": payload, "line_id": "l1"}
    entry = {"booked_on": "2021-03-02", "amount_vnd": 5_000, "reference": payload, "bank_txn_id": payload,
             "kind": "receipt", "entry_id": "e1"}
    suggestion = {"bank_line_id": "l1", "target_id": "e1", "kind": "receipt", "reference": payload,
                  "score": 0.75, "reason": payload}
    gap = {"after_statement": "s1", "before_statement": "s2", "from": "2021-03-10", "to": "2021-03-15",
           "uncovered_days": 4, "expected_opening_vnd": -5, "opening_vnd": 7}
    return {"account": payload, "fund": payload, "from": "2021-03-01", "to": "2021-03-31",
            "opening_balance_vnd": -1_000, "ledger_balance_vnd": 0, "bank_balance_vnd": -11_000,
            "difference_vnd": -11_000, "matched": 0, "reconciled": False, "unmatched_bank_lines": [line],
            "unmatched_ledger_entries": [entry], "suggestions": [suggestion], "gaps": [gap]}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_reconciliation_csv_holds_no_formula(payload: str) -> None:
    rows = list(csv.reader(io.StringIO(reports.reconciliation_csv(_report(payload)).decode("utf-8-sig"),
                                       newline="")))
    cells = [cell for row in rows for cell in row]
    assert "'" + payload in cells
    # The amounts we wrote as numbers are written as numbers, sign and all.
    assert ["difference_vnd", "-11000"] in rows
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_reconciliation_xlsx_holds_no_formula(payload: str) -> None:
    sheet = load_workbook(io.BytesIO(reports.reconciliation_xlsx(_report(payload)))).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    # The standard library's XML writer gives a carriage return back as a line feed; openpyxl
    # writes with lxml when it is installed (the open-data tests bring it), which keeps it.
    assert {"'" + payload, "'" + payload.replace("\r", "\n")} & set(texts)
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    numbers = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and len(row) > 1}
    assert numbers["difference_vnd"] == -11_000 and numbers["opening_balance_vnd"] == -1_000


def test_the_text_verdict_names_each_gap() -> None:
    report = _report("x")
    report["gaps"] = [
        {"after_statement": "s1", "before_statement": "s2", "from": "2021-03-10", "to": "2021-03-11",
         "uncovered_days": 0, "expected_opening_vnd": 1_000_000, "opening_vnd": 1_050_000},
        {"after_statement": "s2", "before_statement": "s3", "from": "2021-03-20", "to": "2021-03-25",
         "uncovered_days": 4, "expected_opening_vnd": 2_000_000, "opening_vnd": 2_000_000}]
    first, balance, dates = reports.verdict(report).splitlines()
    assert first.startswith("Chưa khớp")
    assert "s2" in balance and "s1" in balance and "1.050.000" in balance and "1.000.000" in balance
    assert "4" in dates and "2021-03-20" in dates and "2021-03-25" in dates and "expected" not in dates
    report.update(gaps=[], reconciled=True)
    assert reports.verdict(report).startswith("Đã khớp") and "\n" not in reports.verdict(report)


def _is_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
