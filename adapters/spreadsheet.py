"""Cells for the CSV and XLSX files the service hands out, made safe to open in a spreadsheet.

Donor names, bank counterparties and transfer texts are written by outsiders. A spreadsheet
takes a cell that starts with `=`, `+`, `-` or `@` (and, in some, one starting with a tab or a
carriage return) as a formula, so a transfer text `=HYPERLINK("http://…","…")` would become a
live link in a finance officer's Excel (OWASP "CSV injection"). Such text gets a leading single
quote, as OWASP recommends: every spreadsheet shows it as text, and a reader still sees what the
sender wrote. Only text is touched: numbers stay numbers, so a negative amount is still a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with a single quote before it if it is text a spreadsheet would take as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
