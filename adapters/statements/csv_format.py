"""The documented CSV statement (docs/statement-csv.md): '# key: value' preamble, a header row, lines."""

from __future__ import annotations

import csv
import io

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

_DELIMITERS = (",", ";", "\t")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise StatementError(
            "statement_unreadable",
            f"Tệp CSV không phải UTF-8 (byte {e.start}); hãy lưu dạng 'CSV UTF-8' / the CSV file is not "
            f"UTF-8 (byte {e.start}); save it as 'CSV UTF-8'") from None


def _preamble(text: str, header: Header, budget: Budget) -> tuple[int, int]:
    """Reads the leading '# key: value' and blank lines; returns where the table starts and the number
    of lines before it. Unknown keys are comments."""
    pos = lines = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        raw = text[pos:end].strip()
        if raw and not raw.startswith("#"):
            break
        lines += 1
        budget.row(1, lines)
        key, colon, value = raw[1:].partition(":")
        label = LABEL_OF.get(name_key(key)) if colon else None
        if label is not None:
            header.set(label, value.strip(), lines)
        pos = end + 1
    return pos, lines


def parse_csv(data: bytes, limits: StatementLimits = DEFAULT_LIMITS) -> Statement:
    check_size(data, limits)
    budget = Budget(limits)
    text = _decode(data)
    header = Header(dates=limits.dates)
    start, before = _preamble(text, header, budget)
    body = text[start:]
    header_end = body.find("\n")
    header_line = body if header_end < 0 else body[:header_end]
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=max(_DELIMITERS, key=header_line.count))
    lines: list[StatementLine] = []
    append = lines.append
    try:
        first = next(reader, [])
        budget.row(len(first), before + 1)
        columns = match_header(first)
        if columns is None:
            raise StatementError(
                "statement_unreadable",
                f"Không thấy dòng tiêu đề với các cột {EXPECTED_COLUMNS} / no header row with the columns "
                f"{EXPECTED_COLUMNS}", before + 1)
        rows = RowReader(columns, limits.dates)
        count = budget.row
        for cells in reader:
            count(len(cells), before + reader.line_num)
            if any(cells):
                append(rows.line(cells, before + reader.line_num))
    except csv.Error as e:
        raise StatementError("statement_unreadable", f"Lỗi định dạng CSV / malformed CSV: {e}",
                             before + reader.line_num) from None
    return assemble("csv", header, lines)
