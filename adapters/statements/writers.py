"""Statements written back out in each format: for tests (round trips), benchmarks and demos.

Each writer's output parses back to the same statement (keys aside). camt.053 has no running
balances, so lines written to it lose theirs; its mandatory elements (Stmt/Id, both ends of FrToDt,
balance dates) are left out when the statement doesn't have them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from adapters.statements.model import Statement

CSV_COLUMNS = ("date", "bank_txn_id", "debit", "credit", "balance", "counterparty", "counterparty_account",
               "description", "reversal")
XLSX_COLUMNS = ("STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Số dư",
                "Tên đối ứng", "Tài khoản đối ứng", "Nội dung", "Giao dịch đảo")
CAMT_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _preamble(statement: Statement) -> list[tuple[str, object]]:
    facts: list[tuple[str, object]] = [
        ("account", statement.account_number), ("statement_id", statement.statement_id),
        ("from", statement.period_from), ("to", statement.period_to),
        ("opening_balance", statement.opening_balance_vnd),
        ("closing_balance", statement.closing_balance_vnd),
    ]
    return [(key, value) for key, value in facts if value is not None]


def write_csv(statement: Statement) -> bytes:
    """The documented CSV (docs/statement-csv.md): preamble, header, one row per line, plain digits."""
    out = io.StringIO()
    for key, value in _preamble(statement):
        out.write(f"# {key}: {value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        (line.booked_on.isoformat(), line.bank_txn_id or "",
         -line.amount_vnd if line.amount_vnd < 0 else "", line.amount_vnd if line.amount_vnd > 0 else "",
         "" if line.balance_vnd is None else line.balance_vnd, line.counterparty,
         line.counterparty_account or "", line.description, "1" if line.reversal else "")
        for line in statement.lines)
    return out.getvalue().encode("utf-8")


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell | str | None:
    if not value:
        return None
    if value.startswith("="):  # text, not a formula
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


def _dmy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def write_xlsx(statement: Statement) -> bytes:
    """A sheet laid out like a Vietnamese bank's export: title and facts, the table, totals, closing."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Sao ke")
    sheet.append(["SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT"])
    if statement.account_number is not None:
        sheet.append(["Số tài khoản:", _text_cell(sheet, statement.account_number)])
    if statement.statement_id is not None:
        sheet.append(["Mã sao kê:", _text_cell(sheet, statement.statement_id)])
    ends = (("Từ ngày", statement.period_from), ("Đến ngày", statement.period_to))
    period = [f"{label}: {_dmy(day)}" for label, day in ends if day is not None]
    if period:
        sheet.append([" ".join(period)])
    sheet.append(["Số dư đầu kỳ:", statement.opening_balance_vnd])
    sheet.append([])
    sheet.append(list(XLSX_COLUMNS))
    debits = credits = 0
    for number, line in enumerate(statement.lines, start=1):
        debit = -line.amount_vnd if line.amount_vnd < 0 else None
        credit = line.amount_vnd if line.amount_vnd > 0 else None
        debits += debit or 0
        credits += credit or 0
        sheet.append([number, line.booked_on, _text_cell(sheet, line.bank_txn_id or ""), debit, credit,
                      line.balance_vnd, _text_cell(sheet, line.counterparty),
                      _text_cell(sheet, line.counterparty_account or ""), _text_cell(sheet, line.description),
                      "x" if line.reversal else None])
    sheet.append(["Tổng phát sinh", None, None, debits, credits])
    sheet.append(["Số dư cuối kỳ:", statement.closing_balance_vnd])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _add(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def _amount(parent: Element, amount_vnd: int) -> None:
    _add(parent, "Amt", str(abs(amount_vnd)), Ccy="VND")
    _add(parent, "CdtDbtInd", "DBIT" if amount_vnd < 0 else "CRDT")


def _balance(statement_element: Element, code: str, amount_vnd: int, day: date | None) -> None:
    balance = _add(statement_element, "Bal")
    _add(_add(_add(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, amount_vnd)
    if day is not None:
        _add(_add(balance, "Dt"), "Dt", day.isoformat())


def write_camt053(statement: Statement) -> bytes:
    """camt.053.001.08, one statement; the counterparty goes where camt053.parse_camt053 reads it."""
    document = Element("Document", xmlns=CAMT_NAMESPACE)
    report = _add(document, "BkToCstmrStmt")
    group = _add(report, "GrpHdr")
    _add(group, "MsgId", statement.statement_id or "MINHBACH")
    _add(group, "CreDtTm", datetime.now(UTC).replace(microsecond=0).isoformat())
    element = _add(report, "Stmt")
    if statement.statement_id is not None:
        _add(element, "Id", statement.statement_id)
    if statement.period_from is not None or statement.period_to is not None:
        period = _add(element, "FrToDt")
        if statement.period_from is not None:
            _add(period, "FrDtTm", f"{statement.period_from.isoformat()}T00:00:00")
        if statement.period_to is not None:
            _add(period, "ToDtTm", f"{statement.period_to.isoformat()}T23:59:59")
    account = _add(element, "Acct")
    if statement.account_number is not None:
        _add(_add(_add(account, "Id"), "Othr"), "Id", statement.account_number)
    _add(account, "Ccy", "VND")
    _balance(element, "OPBD", statement.opening_balance_vnd, statement.period_from)
    _balance(element, "CLBD", statement.closing_balance_vnd, statement.period_to)
    for line in statement.lines:
        entry = _add(element, "Ntry")
        _amount(entry, line.amount_vnd)
        if line.reversal:
            _add(entry, "RvslInd", "true")
        _add(_add(entry, "Sts"), "Cd", "BOOK")
        _add(_add(entry, "BookgDt"), "Dt", line.booked_on.isoformat())
        if line.bank_txn_id is not None:
            _add(entry, "AcctSvcrRef", line.bank_txn_id)
        _add(_add(_add(entry, "BkTxCd"), "Prtry"), "Cd", "TRF")
        details = _add(_add(entry, "NtryDtls"), "TxDtls")
        party = "Dbtr" if (line.amount_vnd > 0) != line.reversal else "Cdtr"
        if line.counterparty or line.counterparty_account:
            parties = _add(details, "RltdPties")
            if line.counterparty:
                _add(_add(_add(parties, party), "Pty"), "Nm", line.counterparty)
            if line.counterparty_account:
                _add(_add(_add(_add(parties, party + "Acct"), "Id"), "Othr"), "Id", line.counterparty_account)
        if line.description:
            _add(_add(details, "RmtInf"), "Ustrd", line.description)
    data: bytes = tostring(document, encoding="utf-8", xml_declaration=True)
    return data
