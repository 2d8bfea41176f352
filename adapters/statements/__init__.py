"""Bank statements (CSV, XLSX, camt.053) parsed to one model, keyed per line and checked to add up.

Pure and IO-free: bytes in, a Statement or a StatementError out."""

from adapters.statements.model import (
    DEFAULT_LIMITS,
    ERROR_CODES,
    Statement,
    StatementError,
    StatementLimits,
    StatementLine,
    check_balances,
)
from adapters.statements.parse import detect_format, parse_statement, parse_statements
from adapters.statements.writers import write_camt053, write_csv, write_xlsx

__all__ = [
    "DEFAULT_LIMITS",
    "ERROR_CODES",
    "Statement",
    "StatementError",
    "StatementLimits",
    "StatementLine",
    "check_balances",
    "detect_format",
    "parse_statement",
    "parse_statements",
    "write_camt053",
    "write_csv",
    "write_xlsx",
]
