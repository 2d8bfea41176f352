"""XLSX statements laid out like a Vietnamese bank's export (Vietcombank, BIDV …): header rows with
the account, period and opening balance, the table, footer rows with totals and the closing balance."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from itertools import chain
from xml.etree.ElementTree import ParseError

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl.utils.exceptions import InvalidFileException

from adapters.statements.model import (
    DEFAULT_LIMITS,
    Budget,
    Statement,
    StatementError,
    StatementLimits,
    StatementLine,
    check_size,
)
from adapters.statements.table import (
    EXPECTED_COLUMNS,
    LABEL_OF,
    Header,
    RowReader,
    assemble,
    match_header,
    name_key,
)
from domain.text import fold

# Too common as plain words in a sheet's title rows ("Account name", "Transfer to") to be labels there.
_NOT_LABELS_IN_SHEETS = frozenset({"account", "from", "to"})
# A row below the table whose first cell starts with one of these ends the table; these others only
# when they are the whole cell, as "Tổng công ty …" may start a wrapped description.
_FOOTER_STARTS = ("tong phat sinh", "cong phat sinh", "so du cuoi ky", "closing balance")
_FOOTER_CELLS = frozenset({"tong cong", "tong so", "cong", "total"})


def _letter_classes() -> dict[str, str]:
    """For each ASCII letter, a regex class of the Latin letters that fold to it ('a' → [aàáạ…Â…])."""
    found: dict[str, set[str]] = {}
    for code in chain(range(0x41, 0x5B), range(0x61, 0x7B), range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        folded = fold(chr(code))
        if len(folded) == 1 and "a" <= folded <= "z":
            found.setdefault(folded, set()).add(chr(code))
    return {letter: "[" + "".join(sorted(chars)) + "]" for letter, chars in found.items()}


def _label_regex() -> re.Pattern[str]:
    """Any label, written with or without diacritics, in any case: 'Số dư đầu kỳ', 'SO DU DAU KY'."""
    classes = _letter_classes()
    patterns = ["".join(classes.get(c, re.escape(c)) if c != " " else r"[\s_/\-.]+" for c in alias)
                for alias in sorted(LABEL_OF, key=len, reverse=True) if alias not in _NOT_LABELS_IN_SHEETS]
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(patterns) + r")(?![^\W\d_])\s*:?\s*", re.IGNORECASE)


_LABEL = _label_regex()
_LETTER = re.compile(r"[^\W\d_]")


def _filled(cells: Sequence[object]) -> list[object]:
    return [cell for cell in cells if cell is not None and cell != ""]


def _read_labels(filled: list[object], header: Header, row: int) -> None:
    """'Số tài khoản: 0011004123456', 'Từ ngày: 01/01/2021 Đến ngày: 31/01/2021' in one cell, or a label
    in one cell and its value (text, number or date) in the next non-empty one."""
    taken = -1
    for index, cell in enumerate(filled):
        if index <= taken or not isinstance(cell, str):
            continue
        found = list(_LABEL.finditer(cell))
        for i, match in enumerate(found):
            end = found[i + 1].start() if i + 1 < len(found) else len(cell)
            value: object = cell[match.end():end].strip(" \t,;|")
            if value == "" and i + 1 == len(found) and index + 1 < len(filled):
                value, taken = filled[index + 1], index + 1
            header.set(LABEL_OF[name_key(match.group(0))], value, row)


def _is_date_cell(value: object) -> bool:
    """Whether this date-column cell starts a line: not empty and not words like 'Tổng phát sinh'."""
    if isinstance(value, str):
        return bool(value.strip()) and _LETTER.search(value) is None
    return value is not None


def _starts_with_label(filled: list[object]) -> bool:
    return bool(filled) and isinstance(filled[0], str) and _LABEL.match(filled[0].strip()) is not None


def _is_footer(filled: list[object]) -> bool:
    if not filled or not isinstance(filled[0], str):
        return False
    key = name_key(filled[0])
    return key.startswith(_FOOTER_STARTS) or key in _FOOTER_CELLS


def _check_zip(data: bytes, limits: StatementLimits) -> None:
    """Refuse a zip bomb before openpyxl unpacks anything: by the members' sizes as the zip declares
    them (zipfile never unpacks more than a member declares: a lie fails its CRC) and by how much
    each is compressed, which no spreadsheet needs past a few dozen times."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, LookupError) as e:
        raise StatementError("statement_unreadable",
                             f"Không đọc được tệp XLSX / unreadable XLSX file: {e}") from None
    if len(members) > limits.max_members:
        raise StatementError("statement_too_large",
                             f"Tệp XLSX có {len(members)} tệp con / the XLSX file holds {len(members)} "
                             f"files; at most {limits.max_members}")
    unpacked = 0
    for member in members:
        unpacked += member.file_size
        if member.file_size > 2**20 and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise StatementError(
                "statement_too_large",
                f"Tệp XLSX nén bất thường (tỉ lệ trên {limits.max_ratio}) / an XLSX member compressed "
                f"more than {limits.max_ratio} times: refused as a zip bomb")
    if unpacked > limits.max_unpacked_bytes:
        raise StatementError(
            "statement_too_large",
            f"Tệp XLSX giải nén quá {limits.max_unpacked_bytes // 2**20} MB / the XLSX file unpacks to "
            f"more than {limits.max_unpacked_bytes // 2**20} MB")


def _sheet_rows(data: bytes, max_columns: int) -> Iterator[tuple[object, ...]]:
    """The first sheet's rows, values only, at most `max_columns` + 1 wide (openpyxl pads every row to
    the width the sheet declares, which may be 16,384). openpyxl parses the XML inside with defusedxml
    when it is installed (it is a dependency), so an uploaded workbook can't use XML entity tricks."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            declared = sheet.max_column if isinstance(sheet.max_column, int) else None
            width = min(declared or max_columns + 1, max_columns + 1)
            yield from sheet.iter_rows(values_only=True, max_col=width)
        finally:
            workbook.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, OSError, ValueError, ParseError,
            DefusedXmlException, zlib.error, EOFError, TypeError, AttributeError, LookupError,
            ArithmeticError, RuntimeError) as e:
        # Only raised while openpyxl reads (the caller's errors don't come in here). A broken or
        # hostile workbook reaches openpyxl's and zlib's internals, which raise all of these.
        raise StatementError("statement_unreadable",
                             f"Không đọc được tệp XLSX / unreadable XLSX file: {type(e).__name__}") from None


def _width(cells: tuple[object, ...], cap: int) -> int:
    """The row's width as far as the limit needs to know: past it only if its last cell is filled."""
    return cap if len(cells) >= cap and cells[cap - 1] not in (None, "") else min(len(cells), cap - 1)


def parse_xlsx(data: bytes, limits: StatementLimits = DEFAULT_LIMITS) -> Statement:
    check_size(data, limits)
    _check_zip(data, limits)
    budget = Budget(limits)
    cap = limits.max_columns + 1
    header = Header(dates=limits.dates)
    rows: RowReader | None = None
    lines: list[StatementLine] = []
    footer = False
    for number, cells in enumerate(_sheet_rows(data, limits.max_columns), start=1):
        budget.row(_width(cells, cap), number)
        if rows is None:
            columns = match_header(cells)
            if columns is not None:
                rows = RowReader(columns, limits.dates)
            else:
                _read_labels(_filled(cells), header, number)
        elif not footer and rows.date_column < len(cells) and _is_date_cell(cells[rows.date_column]):
            lines.append(rows.line(cells, number))
        else:
            # From the table on, a row without a date is the opening balance as BIDV puts it in the
            # table's first row, a wrapped description, a repeated header or the footer: only a row
            # that starts with a label is read, so that words in a description are never taken for one.
            filled = _filled(cells)
            footer = footer or _is_footer(filled)
            if _starts_with_label(filled):
                _read_labels(filled, header, number)
    if rows is None:
        raise StatementError(
            "statement_unreadable",
            f"Không thấy dòng tiêu đề bảng với các cột {EXPECTED_COLUMNS} / no table header row with the "
            f"columns {EXPECTED_COLUMNS}")
    return assemble("xlsx", header, lines)
