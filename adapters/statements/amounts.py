"""Amounts and dates as banks write them, read strictly: a guess about money is refused, not made."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

from adapters.statements.model import StatementError
from domain.dates import DEFAULT_WINDOW, DateWindow

_NOISE = re.compile(r"\s+|vnđ|vnd|đ|₫", re.IGNORECASE)
_GROUPED = {sep: re.compile(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+") for sep in ".,"}
_DATE = re.compile(
    r"(?:(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial day 0 in Excel's 1900 date system (past its 1900 leap-year bug)
_EXCEL_MAX_SERIAL = 2958465        # 31/12/9999


def _refuse_amount(raw: object, why: str, line: int | None) -> StatementError:
    return StatementError("statement_amount_invalid", f"Số tiền {raw!r} không hợp lệ / invalid amount: {why}",
                          line)


def _whole(integer: str, fraction: str, raw: str, line: int | None) -> int:
    if fraction.strip("0"):
        raise _refuse_amount(raw, "VND has no fractional đồng", line)
    return int(integer)


def _digits(text: str, raw: str, line: int | None) -> int:
    """Digits with '.' or ',' as grouping or decimal mark, as long as only one reading is possible."""
    if text.isdigit():
        return int(text)
    if not text or text.strip("0123456789.,"):
        raise _refuse_amount(raw, "not a number", line)
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        mark = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if mark == "." else "."
        integer, _, fraction = text.rpartition(mark)
        if mark in integer or not fraction or not _GROUPED[group].fullmatch(integer):
            raise _refuse_amount(raw, "mixed separators that don't group by thousands", line)
        return _whole(integer.replace(group, ""), fraction, raw, line)
    sep = "." if dots else ","
    if dots + commas > 1:
        if not _GROUPED[sep].fullmatch(text):
            raise _refuse_amount(raw, "separators that don't group by thousands", line)
        return int(text.replace(sep, ""))
    integer, _, fraction = text.partition(sep)
    if not integer:
        raise _refuse_amount(raw, "no digits before the separator", line)
    if len(fraction) == 3:
        # "1.250" is 1250 đồng: thousandths of a đồng don't exist. "1250.000" could be either.
        if len(integer) > 3:
            raise _refuse_amount(raw, "ambiguous: thousands separator or decimal mark?", line)
        return int(integer + fraction)
    if len(fraction) in (1, 2):
        return _whole(integer, fraction, raw, line)
    raise _refuse_amount(raw, "ambiguous: thousands separator or decimal mark?", line)


def parse_amount(value: object, line: int | None) -> int:
    """Whole đồng from '1.250.000', '1,250,000.00', ' 1 250 000 ₫', '(500.000)', '-500.000', 1250000.0 …"""
    if type(value) is str and value.isascii() and value.isdigit():  # the common case first
        return int(value)
    if isinstance(value, bool):
        raise _refuse_amount(value, "not a number", line)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise _refuse_amount(value, "VND has no fractional đồng", line)
        return int(value)
    raw = str(value)
    text = _NOISE.sub("", raw)
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    if text[:1] in ("+", "-"):
        if negative and text[0] == "-":
            raise _refuse_amount(raw, "two minus signs", line)
        negative = negative or text[0] == "-"
        text = text[1:]
    if not text.isascii():
        raise _refuse_amount(raw, "not a number", line)
    amount = _digits(text, raw, line)
    return -amount if negative else amount


@lru_cache(maxsize=4096)  # a statement has few distinct dates and many lines
def _date_from_text(text: str) -> date | None:
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    if match["y"]:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    else:
        year, month, day = int(match["iy"]), int(match["im"]), int(match["id"])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: object, line: int | None, window: DateWindow = DEFAULT_WINDOW) -> date:
    """A date from 'dd/mm/yyyy', 'yyyy-mm-dd' or 'dd-mm-yyyy' (a time after it is ignored), a date or
    datetime cell, or an Excel serial day number (a date column whose cell format was lost), inside
    the window of business dates."""
    day = _parse_date(value)
    if day is None:
        raise StatementError(
            "statement_date_invalid",
            f"Ngày {str(value)[:40]!r} không hợp lệ, cần dd/mm/yyyy hoặc yyyy-mm-dd / invalid date "
            f"{str(value)[:40]!r}: expected dd/mm/yyyy, yyyy-mm-dd or dd-mm-yyyy", line)
    if not window.holds(day):
        raise StatementError(
            "statement_date_invalid",
            f"Ngày {day:%d/%m/%Y} nằm ngoài khoảng {window.first:%d/%m/%Y} – {window.last:%d/%m/%Y} / the "
            f"date {day.isoformat()} is outside {window.first.isoformat()} to {window.last.isoformat()}",
            line)
    return day


def _parse_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value <= _EXCEL_MAX_SERIAL:  # the fraction, if any, is the time of day
            return _EXCEL_EPOCH + timedelta(days=int(value))
    elif value is not None and (parsed := _date_from_text(str(value))) is not None:
        return parsed
    return None

