"""ISO 20022 camt.053 (BankToCustomerStatement), versions 001.02 to 001.13.

Elements are matched by local name, so the namespace (the version) doesn't matter. The XML is
untrusted: defusedxml refuses DTDs, entities and external references.

Sign of an entry: the amount is positive for CdtDbtInd CRDT and negative for DBIT, whatever RvslInd
says. That is ISO's rule: a reversal is booked in the direction that undoes the original, so a CRDT
entry with RvslInd true gives back money of an earlier debit (and a DBIT one takes back an earlier
credit), and the balances add up with the sign of CdtDbtInd alone. RvslInd only sets `reversal`.
The counterparty of an entry is the other side of the original transaction: the debtor (Dbtr) of a
credit and the creditor (Cdtr) of a debit, swapped for a reversal.
Entries whose status is PDNG (pending) or INFO are not in the booked balances and are left out.
"""

from __future__ import annotations

import re
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from adapters.statements.amounts import parse_date
from adapters.statements.model import (
    DEFAULT_LIMITS,
    MAX_COUNTERPARTY,
    MAX_DESCRIPTION,
    MAX_ID,
    Budget,
    LineKeys,
    Statement,
    StatementError,
    StatementLimits,
    StatementLine,
    check_size,
    clean_text,
)
from adapters.statements.table import Header, assemble

_DECIMAL = re.compile(r"\d{1,18}(?:\.\d{1,5})?")
_NOT_BOOKED = frozenset({"PDNG", "INFO"})
_BOOKING_DATES = (("BookgDt", "Dt"), ("BookgDt", "DtTm"), ("ValDt", "Dt"), ("ValDt", "DtTm"))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _all(element: Element | None, *path: str) -> list[Element]:
    """Every element at the path, following every branch (several NtryDtls, several TxDtls …)."""
    found = [] if element is None else [element]
    for name in path:
        found = [child for parent in found for child in parent if _local(child.tag) == name]
    return found


def _text(element: Element | None, *path: str, row: int | None = None,
          max_length: int = MAX_ID) -> str | None:
    node = _find(element, *path)
    text = None if node is None or node.text is None else clean_text(node.text, path[-1], row, max_length)
    return text or None


def _amount(element: Element | None, what: str, row: int | None) -> int:
    if element is None:
        raise StatementError("statement_amount_invalid", f"Thiếu số tiền / missing amount of the {what}", row)
    currency = element.get("Ccy", "VND")
    if currency != "VND":
        raise StatementError("statement_currency",
                             f"Số tiền bằng {currency[:10]!r}, chỉ nhận VND / amount in {currency[:10]!r}: "
                             "only VND", row)
    text = (element.text or "").strip()
    if not _DECIMAL.fullmatch(text):
        raise StatementError("statement_amount_invalid", f"Số tiền {text!r} không hợp lệ / invalid amount",
                             row)
    value = Decimal(text)
    if value != value.to_integral_value():
        raise StatementError("statement_amount_invalid",
                             f"Số tiền {text} có phần lẻ đồng / amount {text} has fractional đồng", row)
    return int(value)


def _signed(element: Element, what: str, row: int | None) -> int:
    amount = _amount(_find(element, "Amt"), what, row)
    indicator = _text(element, "CdtDbtInd", row=row)
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError("statement_line_invalid",
                             f"CdtDbtInd {indicator!r} của {what} phải là CRDT hoặc DBIT / CdtDbtInd of the "
                             f"{what} must be CRDT or DBIT", row)
    return amount if indicator == "CRDT" else -amount


def _account(element: Element | None, row: int | None = None) -> str | None:
    return _text(element, "Id", "IBAN", row=row) or _text(element, "Id", "Othr", "Id", row=row)


def _statement_element(data: bytes) -> Element:
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise StatementError("statement_unreadable",
                             f"XML có cấu trúc bị cấm (DTD, entity) / forbidden XML construct: {e}") from None
    except ParseError as e:
        raise StatementError("statement_unreadable", f"XML hỏng / malformed XML: {e}",
                             e.position[0]) from None
    except (LookupError, ValueError) as e:  # an unknown or broken encoding named in the declaration
        raise StatementError("statement_unreadable",
                             f"XML hỏng / malformed XML: {type(e).__name__}") from None
    report = root if _local(root.tag) == "BkToCstmrStmt" else _find(root, "BkToCstmrStmt")
    statements = _all(report, "Stmt")
    if not statements:
        raise StatementError("statement_unreadable",
                             "Không phải sao kê camt.053 (thiếu BkToCstmrStmt/Stmt) / not a camt.053 "
                             "statement: no BkToCstmrStmt/Stmt")
    if len(statements) > 1:
        raise StatementError("statement_multiple",
                             f"Tệp có {len(statements)} sao kê; hãy tải lên từng sao kê một / the file holds "
                             f"{len(statements)} statements; upload one statement per file")
    return statements[0]


def _header(statement: Element, limits: StatementLimits) -> Header:
    currency = _text(statement, "Acct", "Ccy")
    if currency not in (None, "VND"):
        raise StatementError("statement_currency",
                             f"Tài khoản bằng {currency!r}, chỉ nhận VND / account in {currency!r}: only VND")
    header = Header(account=_account(_find(statement, "Acct")), statement_id=_text(statement, "Id"),
                    dates=limits.dates)
    period = _find(statement, "FrToDt")
    if period is not None:
        header.set("from", _text(period, "FrDtTm"), None)
        header.set("to", _text(period, "ToDtTm"), None)
    balances: dict[str, int] = {}
    for balance in _all(statement, "Bal"):
        code = _text(balance, "Tp", "CdOrPrtry", "Cd")
        if code in ("OPBD", "PRCD", "CLBD"):
            balances.setdefault(code, _signed(balance, f"balance {code}", None))
    header.opening = balances.get("OPBD", balances.get("PRCD"))
    header.closing = balances.get("CLBD")
    return header


def _line(entry: Element, row: int, keys: LineKeys, limits: StatementLimits) -> StatementLine:
    amount = _signed(entry, "entry", row)
    reversal = _text(entry, "RvslInd", row=row) in ("true", "1")
    booked = next((text for path in _BOOKING_DATES if (text := _text(entry, *path, row=row)) is not None),
                  None)
    booked_on = parse_date(booked, row, limits.dates)
    details = _all(entry, "NtryDtls", "TxDtls")
    # Only the bank's own reference identifies a transaction: an EndToEndId is chosen by the payer,
    # and two payers may choose the same one.
    txn = (_text(entry, "AcctSvcrRef", row=row)
           or next((ref for tx in details if (ref := _text(tx, "Refs", "AcctSvcrRef", row=row))), None))
    remittance = " ".join(text for tx in details for node in _all(tx, "RmtInf", "Ustrd")
                          if (text := clean_text(node.text or "", "Ustrd", row, MAX_DESCRIPTION)))
    description = clean_text(remittance, "description", row, MAX_DESCRIPTION) if remittance else (
        _text(entry, "AddtlNtryInf", row=row, max_length=MAX_DESCRIPTION) or "")
    party = "Dbtr" if (amount > 0) != reversal else "Cdtr"
    parties = next((found for tx in details if (found := _find(tx, "RltdPties")) is not None), None)
    counterparty = (_text(parties, party, "Nm", row=row, max_length=MAX_COUNTERPARTY)
                    or _text(parties, party, "Pty", "Nm", row=row, max_length=MAX_COUNTERPARTY) or "")
    return StatementLine(
        booked_on=booked_on, amount_vnd=amount, bank_txn_id=txn, balance_vnd=None, counterparty=counterparty,
        counterparty_account=_account(_find(parties, party + "Acct"), row), description=description,
        reversal=reversal, key=keys.key(booked_on, amount, txn, counterparty, description, row),
        row=row)


def parse_camt053(data: bytes, limits: StatementLimits = DEFAULT_LIMITS) -> Statement:
    check_size(data, limits)
    budget = Budget(limits)
    statement = _statement_element(data)
    budget.check_time()
    header = _header(statement, limits)
    keys = LineKeys()
    lines = []
    for row, entry in enumerate(_all(statement, "Ntry"), start=1):
        budget.row(0, row)
        if (_text(entry, "Sts", "Cd", row=row) or _text(entry, "Sts", row=row)) not in _NOT_BOOKED:
            lines.append(_line(entry, row, keys, limits))
    return assemble("camt053", header, lines)
