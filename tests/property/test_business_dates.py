"""Any business-date cut of a random log is a ledger that balances: nothing counts before what it
draws on, and every receipt counts on the day it was received (domain/business_dates.py)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_dates import Entry, business_days

START = date(2021, 1, 1)


def day(n: int) -> str:
    return (START + timedelta(days=n)).isoformat()


@st.composite
def logs(draw: st.DrawFn) -> list[Entry]:
    entries: list[Entry] = []
    recorded = 0
    donors: list[uuid.UUID] = []
    receipts: dict[uuid.UUID, int] = {}  # id → money left
    allocations: dict[uuid.UUID, int] = {}
    distributions: list[uuid.UUID] = []

    def add(kind: str, subject: uuid.UUID, **fields: Any) -> None:
        entries.append(Entry(position=len(entries) + 1, kind=kind, subject=subject,
                             recorded_on=day(recorded), fields=fields))

    for _ in range(draw(st.integers(1, 40))):
        recorded += draw(st.sampled_from([0, 0, 1, 7, 20]))
        step = draw(st.sampled_from(["donor", "receipt", "allocate", "distribute", "reverse"]))
        if step == "donor" or not donors:
            donors.append(uuid.uuid4())
            add("Donor.Registered", donors[-1])
        elif step == "receipt":
            rid = uuid.uuid4()
            receipts[rid] = draw(st.integers(1, 5)) * 100
            # Received long before it was recorded, or (a clock a day ahead) just after.
            received = recorded - draw(st.sampled_from([-1, -1, 0, 1, 30, 90]))
            add("Receipt.Recorded", rid, received_on=day(received), amount_vnd=receipts[rid],
                donor_id=str(draw(st.sampled_from(donors))), pledge_id=None)
        elif step == "allocate" and any(receipts.values()):
            aid, pid = uuid.uuid4(), uuid.uuid4()
            drawn = [r for r, left in receipts.items() if left][:draw(st.integers(1, 3))]
            amount = sum(receipts[r] for r in drawn)
            add("Allocation.Made", aid, drawn_from=[{"receipt_id": str(r)} for r in drawn])
            for r in drawn:
                add("Receipt.Drawn", r, allocation_id=str(aid), amount_vnd=receipts[r])
                receipts[r] = 0
            add("Programme.FundsAllocated", pid, allocation_id=str(aid))
            allocations[aid] = amount
        elif step == "distribute" and any(allocations.values()):
            did, pid = uuid.uuid4(), uuid.uuid4()
            used = [a for a, left in allocations.items() if left][:draw(st.integers(1, 2))]
            pieces = [{"allocation_id": str(a)} for a in used]
            # A distribution dated before it was recorded; its programme's event before or
            # after its own in the log.
            dated = day(recorded - draw(st.sampled_from([0, 1, 10, 60])))
            own = ("Distribution.Made", did, {"distributed_on": dated})
            programme = ("Programme.SupportDistributed", pid, {"distribution_id": str(did),
                                                              "pieces": pieces})
            for kind, subject, fields in (own, programme) if draw(st.booleans()) else (programme, own):
                add(kind, subject, **fields)
            for a in used:
                allocations[a] = 0
            distributions.append(did)
        elif step == "reverse" and distributions:
            target = draw(st.sampled_from(distributions))
            add("Distribution.Reversed", target)
            add("Programme.DistributionReturned", uuid.uuid4(), distribution_id=str(target))
    return entries


@settings(max_examples=300, deadline=None)
@given(logs(), st.data())
def test_every_cut_balances(entries: list[Entry], data: st.DataObject) -> None:
    days = business_days(entries)
    # Cut on a day something happened or was recorded: where a wrong order would show.
    cutoff = data.draw(st.sampled_from(sorted({*days.values(), *(e.recorded_on for e in entries)})))
    counted = {e.position for e in entries if days[e.position] <= cutoff}
    seen = {(e.kind, str(e.subject)) for e in entries if e.position in counted}

    def has(kind: str, subject: Any) -> bool:
        return (kind, str(subject)) in seen

    for e in entries:
        if e.kind == "Receipt.Recorded":
            assert days[e.position] == e.fields["received_on"]
        if e.position not in counted:
            continue
        if e.kind == "Receipt.Recorded":
            assert has("Donor.Registered", e.fields["donor_id"])
        elif e.kind == "Allocation.Made":
            assert all(has("Receipt.Recorded", d["receipt_id"]) for d in e.fields["drawn_from"])
            assert days[e.position] >= e.recorded_on
        elif e.kind in ("Receipt.Drawn", "Programme.FundsAllocated"):
            assert has("Allocation.Made", e.fields["allocation_id"])
        elif e.kind == "Programme.SupportDistributed":
            assert has("Distribution.Made", e.fields["distribution_id"])
            assert all(has("Allocation.Made", p["allocation_id"]) for p in e.fields["pieces"])
        elif e.kind == "Distribution.Made":
            assert days[e.position] >= e.fields["distributed_on"]
        elif e.kind == "Distribution.Reversed":
            assert has("Distribution.Made", e.subject) and days[e.position] >= e.recorded_on
        elif e.kind == "Programme.DistributionReturned":
            assert has("Distribution.Reversed", e.fields["distribution_id"])


@given(logs())
def test_a_cut_after_everything_counts_everything(entries: list[Entry]) -> None:
    days = business_days(entries)
    assert all(d <= day(10_000) for d in days.values())
    assert set(days) == {e.position for e in entries}
