"""The business date of every stored event: when it happened, as opposed to when it was recorded.

A receipt recorded in March for a gift received in January belongs to January by business date
(DESIGN §3, issue 13). Only receipts (`received_on`) and distributions (`distributed_on`) carry a
date of their own; everything else happened when it was recorded. Dates are kept consistent so
that any business-date cut of the log is a ledger that balances: nothing is spent before it is
there. So an allocation counts no earlier than the receipts it drew on, a distribution no earlier
than the allocations it drew on, and a reversal no earlier than what it reverses; each event of
a command that touches several aggregates (a receipt drawn on, a programme's tranche) counts
on the day of the command it belongs to; and a donor, a pledge or a child counts from the first
day something names them, if that is before they were recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

# The two readings of "as of a date": what had been recorded by then, what had happened by then.
DATE_BASES = ("recorded", "business")


@dataclass(frozen=True)
class Entry:
    """One stored event as the calendar reads it."""

    position: int
    kind: str  # the event's class path within its module, e.g. "Receipt.Recorded"
    subject: UUID  # the aggregate it belongs to
    recorded_on: str  # the day it was recorded (YYYY-MM-DD, UTC)
    fields: Mapping[str, Any]


def _key(value: Any) -> str:
    # Ids inside payloads are text in events recorded before ids were one type.
    return str(value)


def business_days(entries: Sequence[Entry]) -> dict[int, str]:
    """Each entry's business day, by position (entries in log order)."""
    receipts: dict[str, str] = {}
    allocations: dict[str, str] = {}
    distributions: dict[str, str] = {}
    # Reversals keyed by what they reverse, so the events of the same reversal on other
    # aggregates (the money returned to a receipt or a programme) share its day.
    reversed_allocations: dict[str, str] = {}
    reversed_distributions: dict[str, str] = {}

    def later(*days: str | None) -> str:
        return max(d for d in days if d is not None)

    # First the days of the things themselves: a distribution's allocations are named by its
    # programme's event, which may come before or after the distribution's own in the log.
    for e in entries:
        subject = _key(e.subject)
        if e.kind == "Receipt.Recorded":
            receipts[subject] = e.fields["received_on"]
    for e in entries:
        subject = _key(e.subject)
        if e.kind == "Allocation.Made":
            drawn = [receipts.get(_key(d["receipt_id"])) for d in e.fields["drawn_from"]]
            allocations[subject] = later(e.recorded_on, *drawn)
        elif e.kind == "Distribution.Made":
            distributions[subject] = later(distributions.get(subject), e.fields["distributed_on"])
        elif e.kind == "Programme.SupportDistributed":
            key = _key(e.fields["distribution_id"])
            drawn = [allocations.get(_key(p["allocation_id"])) for p in e.fields["pieces"]]
            distributions[key] = later(distributions.get(key), *drawn)
    for e in entries:
        subject = _key(e.subject)
        if e.kind == "Allocation.Reversed":
            reversed_allocations[subject] = later(e.recorded_on, allocations.get(subject))
        elif e.kind == "Distribution.Reversed":
            reversed_distributions[subject] = later(e.recorded_on, distributions.get(subject))

    # Each kind takes its day from the thing it belongs to: (those days, the field naming it;
    # None: its own aggregate).
    sources: dict[str, tuple[dict[str, str], str | None]] = {
        "Receipt.Recorded": (receipts, None),
        "Receipt.Drawn": (allocations, "allocation_id"),
        "Receipt.Returned": (reversed_allocations, "allocation_id"),
        "Allocation.Made": (allocations, None),
        "Allocation.Reversed": (reversed_allocations, None),
        "Programme.FundsAllocated": (allocations, "allocation_id"),
        "Programme.AllocationReturned": (reversed_allocations, "allocation_id"),
        "Programme.SupportDistributed": (distributions, "distribution_id"),
        "Programme.DistributionReturned": (reversed_distributions, "distribution_id"),
        "Distribution.Made": (distributions, None),
        "Distribution.Reversed": (reversed_distributions, None),
        "Child.SupportReceived": (distributions, "distribution_id"),
        "Child.SupportWithdrawn": (reversed_distributions, "distribution_id"),
    }

    def day(e: Entry) -> str:
        if e.kind == "Receipt.Reversed":
            return later(e.recorded_on, receipts.get(_key(e.subject)))
        source = sources.get(e.kind)
        found = None if source is None else source[0].get(
            _key(e.subject if source[1] is None else e.fields.get(source[1])))
        # What has no date of its own happened when it was recorded.
        return found if found is not None else e.recorded_on

    days = {e.position: day(e) for e in entries}
    # A registration happened no later than the first thing that names it: a donor before
    # their first gift or pledge, a pledge before the receipts that pay it, a child before
    # their first support (a donor registered today for a gift received in January).
    first_use: dict[str, str] = {}

    def used(key: Any, on: str) -> None:
        if key is not None:
            first_use[_key(key)] = min(first_use.get(_key(key), on), on)

    for e in entries:
        if e.kind == "Receipt.Recorded":
            used(e.fields.get("pledge_id"), days[e.position])
        elif e.kind == "Child.SupportReceived":
            used(e.subject, days[e.position])
    for e in entries:
        if e.kind == "Pledge.Made":
            days[e.position] = min(days[e.position], first_use.get(_key(e.subject), e.recorded_on))
    for e in entries:
        if e.kind in ("Receipt.Recorded", "Pledge.Made"):
            used(e.fields.get("donor_id"), days[e.position])
    for e in entries:
        if e.kind in ("Donor.Registered", "Child.Registered"):
            days[e.position] = min(days[e.position], first_use.get(_key(e.subject), e.recorded_on))
    return days

