"""Statement files past their limits (size, unpacked size, compression, rows, columns, time) and
with text or dates no read model should hold are refused with a `statement_*` code and the line."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

from adapters.statements import StatementError, parse_statement, write_camt053, write_csv, write_xlsx
from adapters.statements.model import DEFAULT_LIMITS, StatementLimits
from domain.dates import DateWindow
from tests.unit.test_statements import CAMT_ENTRY, HEADER, camt, small_statement, zip_bomb


def refused(data: bytes, limits: StatementLimits = DEFAULT_LIMITS,
            format: str | None = None) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_statement(data, format, limits=limits)
    return caught.value


def csv_lines(count: int, extra: str = "") -> bytes:
    rows = "".join(f"2021-01-04,T{n},,1,{n + 1},AN,ung ho{extra}\n" for n in range(count))
    return (HEADER + rows).encode()


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = zip_bomb(400 * 2**20)
    assert len(bomb) < 1_000_000  # under a megabyte packed, 400 MB unpacked
    started = time.monotonic()
    error = refused(bomb)
    assert error.code == "statement_too_large"
    assert time.monotonic() - started < 0.5


def test_unpacked_size_and_members_are_limited() -> None:
    workbook = write_xlsx(small_statement())
    assert refused(workbook, replace(DEFAULT_LIMITS, max_unpacked_bytes=1000)).code == "statement_too_large"
    assert refused(workbook, replace(DEFAULT_LIMITS, max_members=2)).code == "statement_too_large"
    assert parse_statement(workbook).lines  # and within the limits, it reads


@pytest.mark.parametrize("writer", [write_csv, write_xlsx, write_camt053])
def test_the_file_size_is_limited(writer: object) -> None:
    data = writer(small_statement())  # type: ignore[operator]
    assert refused(data, replace(DEFAULT_LIMITS, max_bytes=len(data) - 1)).code == "statement_too_large"


def test_rows_are_limited_in_every_format() -> None:
    limits = replace(DEFAULT_LIMITS, max_rows=3)
    assert (refused(csv_lines(5), limits).code, refused(csv_lines(5), limits).line) == (
        "statement_too_many_rows", 4)
    entries = "".join(CAMT_ENTRY.format(ccy="VND", amount="20") for _ in range(5))
    assert refused(camt(entries), limits).code == "statement_too_many_rows"
    assert refused(write_xlsx(small_statement()), limits).code == "statement_too_many_rows"


def test_columns_are_limited() -> None:
    limits = replace(DEFAULT_LIMITS, max_columns=8)
    wide = (HEADER.rstrip("\n") + ",a,b,c\n2021-01-04,T,,1,1,AN,x,1,2,3\n").encode()
    error = refused(wide, limits)
    assert (error.code, error.line) == ("statement_too_many_columns", 1)
    assert refused(write_xlsx(small_statement()), replace(DEFAULT_LIMITS, max_columns=3)).code == (
        "statement_too_many_columns")


def test_parsing_has_a_deadline() -> None:
    error = refused(csv_lines(3000), replace(DEFAULT_LIMITS, max_seconds=0))
    assert error.code == "statement_too_slow" and error.line is not None


def test_a_nul_far_into_the_file_is_refused_with_its_line() -> None:
    """The detector sees the first 4 KB only; the line's own check refuses the rest."""
    data = csv_lines(200)[:-1] + b"\x00\n"
    assert len(data) > 4096
    error = refused(data)
    assert (error.code, error.line) == ("statement_text_invalid", 201)
    assert "U+0000" in error.detail


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x85", "\u202e", "\u200b", "\u2066", "\ufeff"])
@pytest.mark.parametrize("field", ["counterparty", "description", "bank_txn_id", "counterparty_account"])
@pytest.mark.parametrize("writer", [write_csv, write_xlsx, write_camt053])
def test_hostile_text_in_any_field_of_any_format_is_refused(writer: object, field: str, bad: str) -> None:
    statement = small_statement()
    first = replace(statement.lines[0], **{field: f"A{bad}B"})  # type: ignore[arg-type]
    try:
        data = writer(replace(statement, lines=(first, *statement.lines[1:])))  # type: ignore[operator]
    except (ValueError, IllegalCharacterError):
        pytest.skip("the writer itself refuses this character (openpyxl, XML)")
    formats = {write_csv: "csv", write_xlsx: "xlsx", write_camt053: "camt053"}
    error = refused(data, format=formats[writer])  # type: ignore[index]
    if writer is write_camt053 and bad < " ":
        assert error.code == "statement_unreadable"  # XML 1.0 itself cannot hold a C0 control
    else:
        assert error.code == "statement_text_invalid", error.detail
    assert error.line is not None


def test_dates_outside_the_window_are_refused_in_every_format() -> None:
    statement = small_statement()
    late = replace(statement.lines[1], booked_on=date(1999, 12, 31))
    early = replace(statement, period_from=None, period_to=None, lines=(statement.lines[0], late))
    for writer in (write_csv, write_xlsx, write_camt053):
        error = refused(writer(early))
        assert error.code == "statement_date_invalid" and error.line is not None
        assert "1999-12-31" in error.detail
    narrow = replace(DEFAULT_LIMITS, dates=DateWindow(first=date(2021, 3, 2)))
    assert refused(write_csv(replace(statement, period_from=None, period_to=None)), narrow).code == (
        "statement_date_invalid")
