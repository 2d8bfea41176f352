"""Seasons as reference data (issue 12): the plan's rounds of support, each with its dates.

A programme, a need and a distribution name an opened season, and a distribution's date lies in
it. Seasons never overlap: every day belongs to at most one season, so a child's support on a
given day falls in one season only, and the no-duplicate-support rule (DESIGN §3) can't be
sidestepped by naming a second season for the same days. One calendar aggregate holds them all,
so that opening two overlapping seasons at once is a conflict the store sees.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    AlreadyRecorded,
    InvalidInput,
    NotAllowed,
    OutsideSeason,
    SeasonClosed,
    SeasonOverlap,
    SeasonUnknown,
)
from domain.meta import Meta


class Season(TypedDict):
    code: str
    name: str
    starts_on: str
    ends_on: str
    closed: bool


class AfterClosing(TypedDict):
    """An entry dated inside a season recorded after the season was closed, with the admin's
    reason (sealed; the public sees that it was recorded after closing, and in which season)."""

    season: str
    reason: str


class Seasons(Aggregate):
    """Every season of the ledger, by code (one aggregate, id `ids.seasons_id()`)."""

    @event("Started")
    def __init__(self, *, id: UUID, meta: Meta) -> None:
        """The season calendar was started by the first season opened."""
        self.seasons: dict[str, Season] = {}

    def open(self, *, code: str, name: str, starts_on: str, ends_on: str,
             meta: Meta) -> None:
        """Open a season (dates already checked as business dates; `code` as a season code)."""
        if code in self.seasons:
            raise AlreadyRecorded(f"season {code} is opened already")
        if starts_on > ends_on:
            raise InvalidInput("a season ends on or after the day it starts (starts_on ≤ ends_on)")
        if int(code[:4]) not in (date.fromisoformat(starts_on).year, date.fromisoformat(ends_on).year):
            raise InvalidInput(f"season {code} must start or end in the year {code[:4]}")
        for other in self.seasons.values():
            if starts_on <= other["ends_on"] and other["starts_on"] <= ends_on:
                raise SeasonOverlap(
                    f"season {code} ({starts_on} – {ends_on}) overlaps season {other['code']} "
                    f"({other['starts_on']} – {other['ends_on']}): every day belongs to one season")
        self._open(code=code, name=name, starts_on=starts_on, ends_on=ends_on, meta=meta)

    @event("Opened")
    def _open(self, *, code: str, name: str, starts_on: str, ends_on: str,
              meta: Meta) -> None:
        """A season was opened with its name and dates (both days included)."""
        self.seasons[code] = Season(code=code, name=name, starts_on=starts_on, ends_on=ends_on,
                                    closed=False)

    def close(self, *, code: str, meta: Meta) -> None:
        if self.season(code)["closed"]:
            raise AlreadyRecorded(f"season {code} is closed already")
        self._close(code=code, meta=meta)

    @event("Closed")
    def _close(self, *, code: str, meta: Meta) -> None:
        """A season was closed: it takes nothing new; the reason is in the meta's note."""
        self.seasons[code] = {**self.seasons[code], "closed": True}

    def season(self, code: str) -> Season:
        found = self.seasons.get(code)
        if found is None:
            raise SeasonUnknown(f"no season {code} was opened (GET /seasons lists them)")
        return found

    def check_open(self, code: str, *, reason: str | None = None,
                   admin: bool = False) -> AfterClosing | None:
        """What to record of an entry in season `code`: nothing in an open season; in a closed
        one, only an admin's entry with a reason (issue 13: the books of a closed season change
        only visibly), which is returned to be recorded with it."""
        return _after_closing(self.season(code), reason, admin)

    def check_in(self, code: str, day: str, what: str, *, reason: str | None = None,
                 admin: bool = False) -> AfterClosing | None:
        """As `check_open`, for an entry dated `day`, which must lie in the season."""
        found = self.season(code)
        if not found["starts_on"] <= day <= found["ends_on"]:
            raise OutsideSeason(f"{what} {day} is outside season {code} "
                                f"({found['starts_on']} – {found['ends_on']})")
        return _after_closing(found, reason, admin)

    def check_dated(self, day: str, *, reason: str | None = None,
                    admin: bool = False) -> AfterClosing | None:
        """As `check_open`, for an entry that names no season (a receipt): the season its day
        falls in, if any (seasons never overlap, so there is at most one)."""
        found = next((x for x in self.seasons.values() if x["starts_on"] <= day <= x["ends_on"]), None)
        return _after_closing(found, reason, admin)


def _after_closing(season: Season | None, reason: str | None, admin: bool) -> AfterClosing | None:
    # A reason from anyone but an admin is refused rather than ignored (they asked for an
    # exception they may not make), as for commune overrides; in an open season none is kept.
    if reason is not None and not admin:
        raise NotAllowed("only an admin may record an entry in a closed season (after_closing_reason)")
    if season is None or not season["closed"]:
        return None
    if not reason:
        raise SeasonClosed(f"season {season['code']} is closed: an entry dated inside it needs an"
                           " admin's reason (after_closing_reason)")
    return AfterClosing(season=season["code"], reason=reason)
