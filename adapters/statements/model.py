"""A bank statement as every format parses to it, its line keys and its balance check."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import date

from domain.bank import StatementFormat
from domain.dates import DEFAULT_WINDOW, DateWindow
from domain.errors import InvalidInput
from domain.text import MAX_CODE, MAX_NOTE, MAX_TEXT, check_text, fold, nfc

ERROR_CODES = frozenset({
    "statement_format_unknown",   # not CSV, XLSX or camt.053 (or an old binary .xls)
    "statement_unreadable",       # broken encoding, zip or XML; no table header; a forbidden XML construct
    "statement_multiple",         # several camt.053 statements where one is asked for (parse_statement)
    "statement_currency",         # an amount in another currency than its statement's (or not ISO 4217)
    "statement_currency_missing",  # a camt.053 amount or account without its currency (Ccy)
    "statement_date_invalid",     # a date that is not dd/mm/yyyy, yyyy-mm-dd or dd-mm-yyyy
    "statement_amount_invalid",   # fractional đồng, an ambiguous or unreadable amount
    "statement_line_invalid",     # a zero amount, or both debit and credit on one line
    "statement_duplicate_txn",    # the same bank transaction id twice in one statement
    "statement_no_balances",      # neither opening/closing balances nor running balances to check
    "statement_unbalanced",       # the lines do not add up to the balances
    "statement_text_invalid",     # a control, NUL, bidi or zero-width character, or a text too long
    "statement_too_large",        # the file, or an XLSX's unpacked contents, past the size limits
    "statement_too_many_rows",    # more rows (or camt.053 entries) than a statement may hold
    "statement_too_many_columns",  # a row wider than a statement table may be
    "statement_too_slow",         # reading the file took longer than the parsing deadline
})

# What a line's texts may be (the ledger checks the same when the import is recorded).
MAX_COUNTERPARTY = MAX_TEXT
MAX_DESCRIPTION = MAX_NOTE
MAX_ID = MAX_CODE


@dataclass(frozen=True, slots=True)
class StatementLimits:
    """How big a statement file may be, and how long reading it may take. The defaults hold a
    busy account's year (300,000 lines) with room to spare."""

    max_bytes: int = 200 * 2**20  # the file as uploaded
    max_unpacked_bytes: int = 512 * 2**20  # an XLSX's members, as their zip headers declare them
    max_ratio: int = 200  # an XLSX member's unpacked size over its packed size (zip bombs: ~1000)
    max_members: int = 1000  # files in an XLSX
    max_rows: int = 1_000_000  # rows read (CSV lines, XLSX rows, camt.053 entries)
    max_columns: int = 100
    max_seconds: float = 120.0
    dates: DateWindow = DEFAULT_WINDOW  # booking dates and the period must lie in it


DEFAULT_LIMITS = StatementLimits()
_CHECK_EVERY = 1024  # rows between looks at the clock


class Budget:
    """Counts the rows read against the limits, and looks at the deadline now and then."""

    __slots__ = ("_deadline", "limits", "rows")

    def __init__(self, limits: StatementLimits) -> None:
        self.limits = limits
        self.rows = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def row(self, width: int, row: int | None) -> None:
        self.rows += 1
        if self.rows > self.limits.max_rows:
            raise StatementError(
                "statement_too_many_rows",
                f"Sao kê quá {self.limits.max_rows} dòng; hãy tách thành nhiều tệp / more than "
                f"{self.limits.max_rows} rows: split the statement into several files", row)
        if width > self.limits.max_columns:
            raise StatementError(
                "statement_too_many_columns",
                f"Dòng có {width} cột, tối đa {self.limits.max_columns} / a row of {width} columns; at "
                f"most {self.limits.max_columns}", row)
        if self.rows % _CHECK_EVERY == 0:
            self.check_time(row)

    def check_time(self, row: int | None = None) -> None:
        if time.monotonic() > self._deadline:
            raise StatementError(
                "statement_too_slow",
                f"Đọc sao kê quá {self.limits.max_seconds:g} giây / reading the statement took longer "
                f"than {self.limits.max_seconds:g} s", row)


class StatementError(ValueError):
    """A statement that is refused whole; `code` is stable, `detail` says why in Vietnamese and English."""

    def __init__(self, code: str, detail: str, line: int | None = None) -> None:
        assert code in ERROR_CODES, code
        self.code = code
        self.detail = detail
        self.line = line
        super().__init__(f"{detail} (dòng/line {line})" if line is not None else detail)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line. `amount_vnd` and `balance_vnd` are in whole minor units of the statement's currency:
    đồng for VND (every CSV and XLSX), cents of a USD account's camt.053. For a foreign line, `vnd` is
    its đồng value as the bank booked it, and `rate` the đồng per unit, when the file gives them."""

    booked_on: date
    amount_vnd: int
    bank_txn_id: str | None
    balance_vnd: int | None
    counterparty: str
    counterparty_account: str | None
    description: str
    reversal: bool = False
    key: str = ""
    # Where the line sits in its file (CSV line, XLSX row, camt entry number), for error messages;
    # not part of the line's identity.
    row: int | None = field(default=None, compare=False)
    vnd: int | None = None
    rate: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    format: StatementFormat
    account_number: str | None
    period_from: date | None
    period_to: date | None
    opening_balance_vnd: int
    closing_balance_vnd: int
    lines: tuple[StatementLine, ...]
    statement_id: str | None = None
    currency: str = "VND"  # ISO 4217; the unit of every amount above (see StatementLine)


def check_size(data: bytes, limits: StatementLimits) -> None:
    if len(data) > limits.max_bytes:
        raise StatementError(
            "statement_too_large",
            f"Tệp sao kê quá {limits.max_bytes // 2**20} MB / the statement file is larger than "
            f"{limits.max_bytes // 2**20} MB")


_ASCII_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str, field: str = "text", row: int | None = None, max_length: int = MAX_TEXT) -> str:
    """The domain's text rule (domain.text.check_text) for a bank's text: refused whole with
    `statement_text_invalid` and its line; a tab or line break inside a cell becomes a space. Plain
    ASCII, which most bank text is, takes a shortcut to the same result."""
    if text.isascii() and _ASCII_CONTROL.search(text) is None:
        cleaned = " ".join(text.split())
        if len(cleaned) <= max_length:
            return cleaned
    try:
        return nfc(check_text(text, field, max_length=max_length, multiline=True))
    except InvalidInput as e:
        raise StatementError("statement_text_invalid", f"Văn bản không hợp lệ / invalid text: {e.detail}",
                             row) from None


def _folded(text: str) -> str:
    # Same result as domain.text.fold (str.split and re's \s both split on str.isspace characters),
    # five times faster on ASCII: keys are computed for up to 300,000 lines per import.
    return " ".join(text.lower().split()) if text.isascii() else fold(text)


class LineKeys:
    """Gives each line of one statement its key, in statement order.

    - A line with a bank transaction id has the key ``"txn:" + bank_txn_id``; the same id twice in
      one statement is refused (``statement_duplicate_txn``), since the two would collapse into one.
    - Any other line has ``"h:" + sha256 hex`` of the UTF-8 bytes of these fields joined by U+001F:
      the booking date (ISO), the signed amount, the folded counterparty, the folded description,
      and the occurrence index (0, 1, …) of the line among the earlier lines of the same statement
      that have those same four fields. The running balance is left out on purpose: camt.053 gives
      none per entry, and the same line must have the same key whichever format brought it.
      Folded text holds no U+001F (folding turns it into a space), so the joined form is unambiguous.
      This digest never leaves the process: `ledger.statement_import` stores ``"h:" + HMAC-SHA256``
      of it under the installation's statement key instead (DESIGN §6).

    Folding makes the key indifferent to case, diacritics and spacing, which differ between a bank's
    exports. As the booking date is part of the key, the occurrence index only counts lines of the
    same day: two statements that overlap by whole days (1–31 Jan and 15 Jan–15 Feb) give the same
    line the same key, and two genuinely identical lines of one day get different keys.
    """

    __slots__ = ("_seen", "_txn_rows")

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._txn_rows: dict[str, int | None] = {}

    def key(self, booked_on: date, amount_vnd: int, bank_txn_id: str | None,
            counterparty: str, description: str, row: int | None) -> str:
        if bank_txn_id is not None:
            if bank_txn_id in self._txn_rows:
                first = self._txn_rows[bank_txn_id]
                raise StatementError(
                    "statement_duplicate_txn",
                    f"Mã giao dịch {bank_txn_id!r} xuất hiện hai lần (lần đầu ở dòng {first}) / "
                    f"bank transaction id {bank_txn_id!r} appears twice (first at line {first})",
                    row)
            self._txn_rows[bank_txn_id] = row
            return "txn:" + bank_txn_id
        fields = "\x1f".join((booked_on.isoformat(), str(amount_vnd), _folded(counterparty),
                              _folded(description)))
        occurrence = self._seen.get(fields, 0)
        self._seen[fields] = occurrence + 1
        canonical = f"{fields}\x1f{occurrence}".encode()
        return "h:" + hashlib.sha256(canonical).hexdigest()


def _where(line: StatementLine, index: int) -> int:
    return line.row if line.row is not None else index + 1


def check_balances(statement: Statement) -> None:
    """Refuse a statement whose lines don't lead from the opening to the closing balance.

    Every running balance given must equal the previous balance plus the line's amount (the previous
    balance of the first line is the opening balance); lines without a running balance carry on the
    computed one. Then opening + sum of amounts must equal closing."""
    running = statement.opening_balance_vnd
    for index, line in enumerate(statement.lines):
        running += line.amount_vnd
        if line.balance_vnd is not None and line.balance_vnd != running:
            raise StatementError(
                "statement_unbalanced",
                f"Số dư sau giao dịch ngày {line.booked_on:%d/%m/%Y} là {line.balance_vnd}, "
                f"nhưng số dư trước cộng số tiền là {running} / the running balance after this line is "
                f"{line.balance_vnd}, but the previous balance plus its amount is {running}",
                _where(line, index))
    if running != statement.closing_balance_vnd:
        raise StatementError(
            "statement_unbalanced",
            f"Số dư đầu kỳ {statement.opening_balance_vnd} cộng phát sinh "
            f"{running - statement.opening_balance_vnd} là {running}, khác số dư cuối kỳ "
            f"{statement.closing_balance_vnd} / opening balance plus the lines is {running}, "
            f"not the closing balance {statement.closing_balance_vnd}")
