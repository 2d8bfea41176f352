"""What CSV and XLSX statements share: column and label names, the reading of one row, and the
balances a statement is checked against."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from adapters.statements.amounts import parse_amount, parse_date
from adapters.statements.model import (
    MAX_COUNTERPARTY,
    MAX_DESCRIPTION,
    MAX_ID,
    LineKeys,
    Statement,
    StatementError,
    StatementLine,
    clean_text,
)
from domain.bank import StatementFormat
from domain.dates import DEFAULT_WINDOW, DateWindow
from domain.text import MAX_TEXT, fold

_PUNCT = re.compile(r"[\s_/\-.:()]+")

# Column names, folded and with punctuation turned into spaces (see name_key).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "booking date", "booked on", "transaction date", "ngay", "ngay giao dich", "ngay gd",
             "ngay hach toan", "ngay ghi so"),
    "bank_txn_id": ("bank txn id", "transaction id", "reference", "ref", "so tham chieu", "ma giao dich",
                    "ma gd", "so giao dich", "so but toan", "so ct", "so chung tu"),
    "debit": ("debit", "money out", "ghi no", "no", "so tien ghi no", "so tien no", "phat sinh no"),
    "credit": ("credit", "money in", "ghi co", "co", "so tien ghi co", "so tien co", "phat sinh co"),
    "amount": ("amount", "so tien"),
    "balance": ("balance", "so du"),
    "counterparty": ("counterparty", "doi tac", "ten doi tac", "ten doi ung", "don vi thu huong",
                     "don vi thu huong doi tac", "ten tai khoan doi ung"),
    "counterparty_account": ("counterparty account", "tai khoan doi ung", "so tai khoan doi ung",
                             "tk doi ung", "so tk doi ung", "tai khoan doi tac", "so tai khoan doi tac"),
    "description": ("description", "noi dung", "dien giai", "noi dung giao dich", "chi tiet giao dich"),
    "reversal": ("reversal", "giao dich dao", "dao"),
}
_COLUMN_OF = {alias: name for name, aliases in _COLUMNS.items() for alias in aliases}

# Labels of the statement's own facts: "# key: value" in a CSV preamble, header and footer rows of XLSX.
_LABELS: dict[str, tuple[str, ...]] = {
    "account": ("account", "account number", "account no", "so tai khoan", "so tk"),
    "statement_id": ("statement id", "ma sao ke", "so sao ke"),
    "from": ("from", "from date", "tu ngay"),
    "to": ("to", "to date", "den ngay"),
    "opening_balance": ("opening balance", "so du dau ky", "so du dau"),
    "closing_balance": ("closing balance", "so du cuoi ky", "so du cuoi"),
    "currency": ("currency", "loai tien", "loai tien te"),
}
LABEL_OF = {alias: name for name, aliases in _LABELS.items() for alias in aliases}
_TRUE = frozenset({"x", "1", "true", "yes", "y", "co", "dao", "reversal"})


@lru_cache(maxsize=1024)
def name_key(text: str) -> str:
    """'Số tiền ghi có (VND)' → 'so tien ghi co vnd': how column names and labels are compared."""
    return _PUNCT.sub(" ", fold(text)).strip()


def match_header(cells: Sequence[object]) -> dict[str, int] | None:
    """Column index of each known column, when these cells are a statement table's header row."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if isinstance(cell, str):
            key = name_key(cell)
            name = _COLUMN_OF.get(key) or _COLUMN_OF.get(key.removesuffix(" vnd").strip())
            if name is not None and name not in columns:
                columns[name] = index
    has_amounts = "amount" in columns or ("debit" in columns and "credit" in columns)
    return columns if "date" in columns and has_amounts else None


EXPECTED_COLUMNS = "date, debit, credit (or amount); optional bank_txn_id, balance, counterparty, description"


def cell_text(value: object, field: str = "text", row: int | None = None,
              max_length: int = MAX_TEXT) -> str:
    """A text cell as NFC text under the domain's text rule; numbers and dates that a spreadsheet
    made of an id are written back."""
    if type(value) is str:  # the common case first: every CSV cell
        return clean_text(value, field, row, max_length)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return clean_text(str(value), field, row, max_length)


@dataclass(slots=True)
class Header:
    """A statement's facts other than its lines, as far as the file states them."""

    account: str | None = None
    statement_id: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    opening: int | None = None
    closing: int | None = None
    dates: DateWindow = field(default=DEFAULT_WINDOW, repr=False)

    def set(self, label: str, value: object, row: int | None) -> None:
        text = cell_text(value, label, row, MAX_ID)
        if not text:
            return
        if label == "account":
            self.account = text
        elif label == "statement_id":
            self.statement_id = text
        elif label == "from":
            self.period_from = parse_date(value, row, self.dates)
        elif label == "to":
            self.period_to = parse_date(value, row, self.dates)
        elif label == "opening_balance":
            self.opening = parse_amount(value, row)
        elif label == "closing_balance":
            self.closing = parse_amount(value, row)
        elif label == "currency" and name_key(text) not in ("vnd", "d", "₫"):
            raise StatementError("statement_currency",
                                 f"Sao kê bằng {text!r}, chỉ nhận VND / statement in {text!r}: only VND", row)


def _amount(value: object, row: int) -> int | None:
    return None if value is None or value == "" else parse_amount(value, row)


class RowReader:
    """Turns the rows of a statement table into lines, keyed in order."""

    __slots__ = ("_account", "_amount", "_balance", "_counterparty", "_credit", "_dates", "_debit",
                 "_description", "_keys", "_reversal", "_txn", "_width", "date_column")

    def __init__(self, columns: dict[str, int], dates: DateWindow = DEFAULT_WINDOW) -> None:
        self._dates = dates
        # Rows are padded to one cell past the last known column; absent columns read that empty cell.
        self._width = max(columns.values()) + 2
        absent = self._width - 1
        self.date_column = columns["date"]
        self._txn = columns.get("bank_txn_id", absent)
        self._debit = columns.get("debit", absent)
        self._credit = columns.get("credit", absent)
        self._amount = columns.get("amount") if "debit" not in columns or "credit" not in columns else None
        self._balance = columns.get("balance", absent)
        self._counterparty = columns.get("counterparty", absent)
        self._account = columns.get("counterparty_account", absent)
        self._description = columns.get("description", absent)
        self._reversal = columns.get("reversal", absent)
        self._keys = LineKeys()

    def _signed_amount(self, cells: Sequence[object], row: int) -> int:
        if self._amount is not None:
            amount = _amount(cells[self._amount], row) or 0
        else:
            debit = _amount(cells[self._debit], row) or 0
            credit = _amount(cells[self._credit], row) or 0
            if debit and credit:
                raise StatementError("statement_line_invalid",
                                     "Một dòng có cả ghi nợ và ghi có / a line with both a debit and a "
                                     "credit", row)
            if credit < 0:
                raise StatementError("statement_line_invalid",
                                     "Số tiền ghi có âm / a negative amount in the credit column", row)
            amount = credit or -abs(debit)  # some banks write debits with a minus sign, some without
        if amount == 0:
            raise StatementError("statement_line_invalid", "Dòng không có số tiền / a line without an amount",
                                 row)
        return amount

    def line(self, cells: Sequence[object], row: int) -> StatementLine:
        cells = [*cells[:self._width], *(None,) * (self._width - len(cells))]
        booked_on = parse_date(cells[self.date_column], row, self._dates)
        amount = self._signed_amount(cells, row)
        txn = cell_text(cells[self._txn], "bank_txn_id", row, MAX_ID) or None
        balance = _amount(cells[self._balance], row)
        counterparty = cell_text(cells[self._counterparty], "counterparty", row, MAX_COUNTERPARTY)
        description = cell_text(cells[self._description], "description", row, MAX_DESCRIPTION)
        return StatementLine(
            booked_on=booked_on, amount_vnd=amount, bank_txn_id=txn, balance_vnd=balance,
            counterparty=counterparty,
            counterparty_account=cell_text(cells[self._account], "counterparty_account", row, MAX_ID) or None,
            description=description,
            reversal=name_key(cell_text(cells[self._reversal], "reversal", row)) in _TRUE,
            key=self._keys.key(booked_on, amount, txn, counterparty, description, row),
            row=row)


def assemble(format: StatementFormat, header: Header, lines: list[StatementLine]) -> Statement:
    """The statement, its opening and closing balances taken from the file or, failing that, from the
    running balances: opening = first balance given − the amounts up to and including its line,
    closing = last balance given + the amounts after its line."""
    opening, closing = header.opening, header.closing
    given = [(i, balance) for i, line in enumerate(lines) if (balance := line.balance_vnd) is not None]
    if given and opening is None:
        first, balance = given[0]
        opening = balance - sum(line.amount_vnd for line in lines[:first + 1])
    if given and closing is None:
        last, balance = given[-1]
        closing = balance + sum(line.amount_vnd for line in lines[last + 1:])
    if opening is None or closing is None:
        raise StatementError(
            "statement_no_balances",
            "Sao kê không có số dư đầu kỳ, cuối kỳ hay số dư từng dòng để đối chiếu / the statement gives "
            "no opening and closing balance and no running balance: nothing to check it against")
    return Statement(format=format, account_number=header.account, period_from=header.period_from,
                     period_to=header.period_to, opening_balance_vnd=opening, closing_balance_vnd=closing,
                     lines=tuple(lines), statement_id=header.statement_id)
