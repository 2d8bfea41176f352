"""One entry point for every statement format: detect, parse, check the balances."""

from __future__ import annotations

from collections.abc import Callable

from adapters.statements.camt053 import parse_camt053, parse_camt053_all
from adapters.statements.csv_format import parse_csv
from adapters.statements.model import (
    DEFAULT_LIMITS,
    Statement,
    StatementError,
    StatementLimits,
    check_balances,
    check_size,
)
from adapters.statements.xlsx_format import parse_xlsx
from domain.bank import StatementFormat

PARSERS: dict[str, Callable[[bytes, StatementLimits], Statement]] = {
    "csv": parse_csv, "xlsx": parse_xlsx, "camt053": parse_camt053,
}
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc) container
_PDF = b"%PDF"


def detect_format(data: bytes, filename: str | None = None) -> StatementFormat:
    """By content, not by name: XLSX is a zip, camt.053 is XML naming its namespace or BkToCstmrStmt,
    anything else that is text is CSV. The filename only makes the refusal of other files clearer."""
    if data.startswith(_ZIP):
        return "xlsx"
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        if b"camt.053" in head or b"BkToCstmrStmt" in head:
            return "camt053"
        raise StatementError("statement_format_unknown",
                             "Tệp XML không phải sao kê camt.053 / an XML file that is not a camt.053 "
                             "statement")
    name = f" {filename!r}" if filename else ""
    if data.startswith(_OLE) or (filename or "").lower().endswith(".xls"):
        raise StatementError("statement_format_unknown",
                             f"Tệp Excel cũ (.xls){name}: hãy lưu lại dạng .xlsx / an old binary Excel file"
                             f"{name}: save it as .xlsx")
    if data.startswith(_PDF) or b"\x00" in head:
        raise StatementError("statement_format_unknown",
                             f"Tệp{name} không phải CSV, XLSX hay camt.053 / the file{name} is not CSV, XLSX "
                             "or camt.053")
    return "csv"


def parse_statement(data: bytes, format: str | None = None, filename: str | None = None,
                    limits: StatementLimits = DEFAULT_LIMITS) -> Statement:
    """The statement in `data`, in the given format ("csv", "xlsx", "camt053") or else the detected
    one, with line keys, refused whole (StatementError) if it can't be read, doesn't add up, holds
    text no read model may hold, or goes past the limits."""
    check_size(data, limits)
    parser = PARSERS.get(detect_format(data, filename) if format is None else format)
    if parser is None:
        named = (format or "")[:20]
        raise StatementError("statement_format_unknown",
                             f"Định dạng {named!r} không hỗ trợ; chọn csv, xlsx hoặc camt053 / unknown "
                             f"format {named!r}: use csv, xlsx or camt053")
    statement = parser(data, limits)
    check_balances(statement)
    return statement


def parse_statements(data: bytes, format: str | None = None, filename: str | None = None,
                     limits: StatementLimits = DEFAULT_LIMITS) -> tuple[Statement, ...]:
    """Every statement in `data`: a camt.053 file may hold several (several accounts, or several
    days of one), each checked to add up; a CSV or XLSX file holds one. Refused whole as
    parse_statement refuses one."""
    check_size(data, limits)
    chosen = detect_format(data, filename) if format is None else format
    if chosen != "camt053":
        return (parse_statement(data, chosen, filename, limits),)
    statements = parse_camt053_all(data, limits)
    for statement in statements:
        check_balances(statement)
    return statements
