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

    def check_open(self, code: str) -> Season:
        """The season, which must be open for new allocations, needs and distributions."""
        found = self.season(code)
        if found["closed"]:
            raise SeasonClosed(f"season {code} is closed: it takes nothing new")
        return found

    def check_in(self, code: str, day: str, what: str) -> None:
        found = self.check_open(code)
        if not found["starts_on"] <= day <= found["ends_on"]:
            raise OutsideSeason(f"{what} {day} is outside season {code} "
                                f"({found['starts_on']} – {found['ends_on']})")
