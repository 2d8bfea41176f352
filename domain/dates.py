"""Business dates: `YYYY-MM-DD` text, inside the window the ledger was configured with.

A date outside any plausible window (year 1 or 9999) is a typo or an attack, and it costs every
reader that fills a range of months up to it; a date is stored as text, so it must be the one
form that sorts and compares as dates do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.errors import InvalidInput

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST = date(2000, 1, 1)
AHEAD_DAYS = 366  # one year after today, a leap day included


@dataclass(frozen=True, slots=True)
class DateWindow:
    """Dates from `first` to `ahead_days` after today, both included. `today` is the clock (a
    parameter so that tests can fix it)."""

    first: date = EARLIEST
    ahead_days: int = AHEAD_DAYS
    today: Callable[[], date] = field(default=date.today, compare=False)

    def __post_init__(self) -> None:
        if self.ahead_days < 0:
            raise ValueError("ahead_days must be zero or more")

    @property
    def last(self) -> date:
        return self.today() + timedelta(days=self.ahead_days)

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


DEFAULT_WINDOW = DateWindow()


def parse_iso_date(value: object, field: str) -> date:
    """The date written `YYYY-MM-DD`, and only so: no number, no time, no other layout."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidInput(f"{field} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date written YYYY-MM-DD; {value} is no day") from None


def check_in_window(day: date, field: str, window: DateWindow = DEFAULT_WINDOW) -> date:
    if not window.holds(day):
        raise InvalidInput(f"{field} must be between {window.first.isoformat()} and "
                           f"{window.last.isoformat()}")
    return day


def check_date(value: object, field: str, window: DateWindow = DEFAULT_WINDOW) -> str:
    """The business date as it is stored (`YYYY-MM-DD`), refused with InvalidInput naming `field`
    if it is not such a text or lies outside the window."""
    day = check_in_window(parse_iso_date(value, field), field, window)
    return day.isoformat()


def check_optional_date(value: object, field: str, window: DateWindow = DEFAULT_WINDOW) -> str | None:
    return None if value is None else check_date(value, field, window)
