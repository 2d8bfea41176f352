"""The demo under four eyes (issue 12, item 8): its large sums are proposed and approved by a
second demo person, and the books come out the same as without the rule.

The demo's allocations stay below the default amount (100.000.000 ₫), so the test lowers it
until a good share of them wait for the second person."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.demo import load_demo
from tests.integration.test_demo_rules import events, new_ledger

LOWER_VND = 20_000_000


def books(ledger: Any) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """Allocated money per (commune, category), and how many events of each kind."""
    allocated: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    for n in events(ledger):
        e = ledger.mapper.to_domain_event(n)
        kind = type(e).__qualname__
        kinds[kind] += 1
        if kind == "Allocation.Made":
            allocated[(e.commune, e.category)] += e.amount_vnd
    return allocated, kinds


def test_the_demo_s_large_sums_are_approved_by_a_second_person_with_the_same_books() -> None:
    plain = new_ledger()
    counts = load_demo(plain)
    four_eyes = new_ledger()
    four_eyes.four_eyes_vnd = LOWER_VND
    watched = load_demo(four_eyes)

    assert counts["approved_proposals"] == 0
    assert watched["approved_proposals"] > 50
    assert {k: v for k, v in watched.items() if k != "approved_proposals"} == {
        k: v for k, v in counts.items() if k != "approved_proposals"}
    allocated, kinds = books(four_eyes)
    assert allocated == books(plain)[0]
    assert kinds["Proposal.Proposed"] == kinds["Proposal.Approved"] == watched["approved_proposals"]
    for n in events(four_eyes):
        e = four_eyes.mapper.to_domain_event(n)
        if type(e).__qualname__ == "Allocation.Made" and e.amount_vnd > LOWER_VND:
            assert e.meta["proposal"]["proposed_by"] == "demo"
            assert e.meta["actor"] == "demo-ke-toan-truong"
