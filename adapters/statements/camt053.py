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
from dataclasses import replace
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
from domain.bank import foreign_to_vnd, is_currency, minor_digits

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


def _amount(element: Element | None, what: str, row: int | None, currency: str = "VND") -> int:
    """The amount in minor units of `currency` (đồng for VND, cents for USD), which must be the
    amount's own `Ccy`: an amount without its currency is refused, never taken for đồng."""
    if element is None:
        raise StatementError("statement_amount_invalid", f"Thiếu số tiền / missing amount of the {what}", row)
    given = element.get("Ccy")
    if given is None:
        raise StatementError("statement_currency_missing",
                             f"Số tiền của {what} không ghi loại tiền (Ccy) / the amount of the {what} has "
                             "no currency (Ccy)", row)
    if given != currency:
        raise StatementError("statement_currency",
                             f"Số tiền bằng {given[:10]!r}, tài khoản bằng {currency} / amount in "
                             f"{given[:10]!r} in a {currency} statement", row)
    return _minor(element.text or "", currency, row)


def _minor(text: str, currency: str, row: int | None) -> int:
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        raise StatementError("statement_amount_invalid", f"Số tiền {text!r} không hợp lệ / invalid amount",
                             row)
    value = Decimal(text).scaleb(minor_digits(currency))
    if value != value.to_integral_value():
        raise StatementError("statement_amount_invalid",
                             f"Số tiền {text} {currency} lẻ hơn đơn vị nhỏ nhất / amount {text} {currency} "
                             "is finer than the currency's smallest unit", row)
    return int(value)


def _signed(element: Element, what: str, row: int | None, currency: str = "VND") -> int:
    amount = _amount(_find(element, "Amt"), what, row, currency)
    return _sign(element, what, row, amount)


def _sign(element: Element, what: str, row: int | None, amount: int) -> int:
    indicator = _text(element, "CdtDbtInd", row=row)
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError("statement_line_invalid",
                             f"CdtDbtInd {indicator!r} của {what} phải là CRDT hoặc DBIT / CdtDbtInd of the "
                             f"{what} must be CRDT or DBIT", row)
    return amount if indicator == "CRDT" else -amount


def _account(element: Element | None, row: int | None = None) -> str | None:
    return _text(element, "Id", "IBAN", row=row) or _text(element, "Id", "Othr", "Id", row=row)


def _statement_elements(data: bytes) -> list[Element]:
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
    return statements


def _header(statement: Element, limits: StatementLimits) -> tuple[Header, str]:
    """The statement's facts and its currency: the account's `Ccy`, else that of its balances."""
    currency = _text(statement, "Acct", "Ccy")
    if currency is None:
        first = _find(next(iter(_all(statement, "Bal")), None), "Amt")
        currency = None if first is None else first.get("Ccy")
    if currency is None:
        raise StatementError("statement_currency_missing",
                             "Sao kê không ghi loại tiền của tài khoản (Acct/Ccy) / the statement names no "
                             "currency for its account (Acct/Ccy)")
    if not is_currency(currency):
        raise StatementError("statement_currency",
                             f"Loại tiền {currency[:10]!r} không phải mã ISO 4217 / {currency[:10]!r} is not "
                             "an ISO 4217 currency code")
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
            balances.setdefault(code, _signed(balance, f"balance {code}", None, currency))
    header.opening = balances.get("OPBD", balances.get("PRCD"))
    header.closing = balances.get("CLBD")
    return header, currency


def _vnd(element: Element | None, amount: int, currency: str,
         row: int | None) -> tuple[int | None, str | None]:
    """The đồng value of a foreign amount as the bank booked it, and the rate (đồng per unit):
    a counter-value in VND the bank gives (AmtDtls/CntrValAmt, TxAmt …), else its CcyXchg between
    the two currencies. (None, None) when the file gives neither: the officer records a rate."""
    if currency == "VND" or element is None:
        return None, None
    for part in ("CntrValAmt", "TxAmt", "InstdAmt", "PrtryAmt"):
        for node in _all(element, "AmtDtls", part):
            amt = _find(node, "Amt")
            if amt is not None and amt.get("Ccy") == "VND":
                vnd = _minor(amt.text or "", "VND", row)
                rate = Decimal(vnd) / Decimal(amount).scaleb(-minor_digits(currency))
                return vnd, _rate_text(rate)
    exchanges = [x for amounts in _all(element, "AmtDtls") for part in amounts for x in _all(part, "CcyXchg")]
    for exchange in exchanges:
        source, target = _text(exchange, "SrcCcy", row=row), _text(exchange, "TrgtCcy", row=row)
        unit, text = _text(exchange, "UnitCcy", row=row), _text(exchange, "XchgRate", row=row) or ""
        if {source, target} != {currency, "VND"} or not _RATE.fullmatch(text) or not Decimal(text):
            continue
        # ISO: target amount = source amount × rate, unless UnitCcy says which currency is the unit.
        per_unit = Decimal(text)
        if (unit or source) == "VND":
            per_unit = 1 / per_unit
        return foreign_to_vnd(amount, currency, per_unit), _rate_text(per_unit)
    return None, None


_RATE = re.compile(r"\d{1,12}(?:\.\d{1,12})?")


def _rate_text(rate: Decimal) -> str:
    return format(rate.quantize(Decimal("0.000001")).normalize(), "f")


def _lines(entry: Element, row: int, keys: LineKeys, limits: StatementLimits,
           currency: str) -> list[StatementLine]:
    """The entry's lines: one, or one per transaction of a batch whose transactions give their
    amounts (several TxDtls, each with AmtDtls/TxAmt or Amt, adding up to the entry)."""
    amount = _signed(entry, "entry", row, currency)
    details = _all(entry, "NtryDtls", "TxDtls")
    if len(details) > 1:
        amounts = [_tx_amount(tx, currency, row) for tx in details]
        if all(a is not None for a in amounts):
            signed = [_sign(tx, "transaction", row, a) if _find(tx, "CdtDbtInd") is not None
                      else (a if amount > 0 else -a)
                      for tx, a in zip(details, amounts, strict=True) if a is not None]
            if sum(signed) != amount:
                raise StatementError(
                    "statement_unbalanced",
                    f"Các giao dịch của bút toán cộng lại {sum(signed)}, khác số tiền {amount} / the "
                    f"transactions of the entry add up to {sum(signed)}, not its amount {amount}", row)
            return [_line(entry, row, keys, limits, currency, value, [tx], index)
                    for index, (tx, value) in enumerate(zip(details, signed, strict=True))]
    return [_line(entry, row, keys, limits, currency, amount, details, None)]


def _tx_amount(tx: Element, currency: str, row: int) -> int | None:
    node = _find(tx, "Amt")
    if node is None:
        node = _find(tx, "AmtDtls", "TxAmt", "Amt")
    if node is None:
        node = _find(tx, "AmtDtls", "InstdAmt", "Amt")
        if node is not None and node.get("Ccy") != currency:
            return None  # what the payer instructed in another currency: not this account's amount
    return None if node is None else _amount(node, "transaction", row, currency)


def _line(entry: Element, row: int, keys: LineKeys, limits: StatementLimits, currency: str,
          amount: int, details: list[Element], part: int | None) -> StatementLine:
    reversal = _text(entry, "RvslInd", row=row) in ("true", "1")
    booked = next((text for path in _BOOKING_DATES if (text := _text(entry, *path, row=row)) is not None),
                  None)
    booked_on = parse_date(booked, row, limits.dates)
    # Only the bank's own reference identifies a transaction: an EndToEndId is chosen by the payer,
    # and two payers may choose the same one. A batch's transaction without its own reference is
    # the entry's reference and its place in the batch.
    own = next((ref for tx in details if (ref := _text(tx, "Refs", "AcctSvcrRef", row=row))), None)
    entry_ref = _text(entry, "AcctSvcrRef", row=row)
    if part is None:
        txn = entry_ref or own
    else:
        txn = own or (f"{entry_ref[:MAX_ID - 8]}/{part + 1}" if entry_ref else None)
    remittance = " ".join(text for tx in details for node in _all(tx, "RmtInf", "Ustrd")
                          if (text := clean_text(node.text or "", "Ustrd", row, MAX_DESCRIPTION)))
    description = clean_text(remittance, "description", row, MAX_DESCRIPTION) if remittance else (
        _text(entry, "AddtlNtryInf", row=row, max_length=MAX_DESCRIPTION) or "")
    party = "Dbtr" if (amount > 0) != reversal else "Cdtr"
    parties = next((found for tx in details if (found := _find(tx, "RltdPties")) is not None), None)
    counterparty = (_text(parties, party, "Nm", row=row, max_length=MAX_COUNTERPARTY)
                    or _text(parties, party, "Pty", "Nm", row=row, max_length=MAX_COUNTERPARTY) or "")
    vnd, rate = _vnd(details[0] if part is not None else entry, abs(amount), currency, row)
    if vnd is None and part is None and details:
        vnd, rate = _vnd(details[0], abs(amount), currency, row)
    return StatementLine(
        booked_on=booked_on, amount_vnd=amount, bank_txn_id=txn, balance_vnd=None, counterparty=counterparty,
        counterparty_account=_account(_find(parties, party + "Acct"), row), description=description,
        reversal=reversal, key=keys.key(booked_on, amount, txn, counterparty, description, row),
        row=row, vnd=None if vnd is None else (vnd if amount > 0 else -vnd), rate=rate)


def parse_camt053_all(data: bytes, limits: StatementLimits = DEFAULT_LIMITS) -> tuple[Statement, ...]:
    """Every statement of the file (one per Stmt: several accounts, or several days of one)."""
    check_size(data, limits)
    budget = Budget(limits)
    elements = _statement_elements(data)
    budget.check_time()
    statements = []
    for element in elements:
        header, currency = _header(element, limits)
        keys = LineKeys()
        lines = []
        for row, entry in enumerate(_all(element, "Ntry"), start=1):
            budget.row(0, row)
            if (_text(entry, "Sts", "Cd", row=row) or _text(entry, "Sts", row=row)) not in _NOT_BOOKED:
                lines += _lines(entry, row, keys, limits, currency)
        statements.append(replace(assemble("camt053", header, lines), currency=currency))
    return tuple(statements)


def parse_camt053(data: bytes, limits: StatementLimits = DEFAULT_LIMITS) -> Statement:
    """The file's one statement; a file of several is refused here (`statement_multiple`): an
    import takes them all through parse_camt053_all."""
    statements = parse_camt053_all(data, limits)
    if len(statements) > 1:
        raise StatementError("statement_multiple",
                             f"Tệp có {len(statements)} sao kê / the file holds {len(statements)} statements")
    return statements[0]
