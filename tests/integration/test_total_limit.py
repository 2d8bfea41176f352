"""Every read-model total stays exact: the ledger refuses what would take a ledger-wide total past
money.MAX_TOTAL_VND, far below what a 64-bit column holds, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from uuid import UUID

import pytest

import ledger.application
from domain.errors import TotalLimitReached
from domain.meta import Context
from domain.money import MAX_AMOUNT_VND, MAX_TOTAL_VND, TOTALS
from ledger.bootstrap import CompositionRoot
from projections.queries import TOTALS_SQL
from tests.helpers import communes

CTX = Context(actor="test", role="finance")


def donor(services: CompositionRoot) -> UUID:
    return UUID(services.ledger.register_donor(CTX, "", name="Quỹ Lớn", kind="fund")["id"])


def receipt(services: CompositionRoot, giver: UUID, amount: int) -> dict[str, object]:
    return services.ledger.record_receipt(CTX, "", donor_id=giver, fund="campaign",
                                          received_on="2021-03-01", channel="bank",
                                          amount_vnd=amount)


def test_every_total_the_ledger_limits_has_its_query() -> None:
    assert set(TOTALS_SQL) == set(TOTALS)


def test_receipts_of_the_largest_amount_stop_at_the_limit_and_totals_stay_exact(
        services: CompositionRoot) -> None:
    """The attack of the issue: receipts of 10^15 ₫ each, each one within the rules. Before the
    limit, 9,300 of them turned a SQLite balance into a float and stopped PostgreSQL's projections
    with "bigint out of range"; now the 1,001st is refused and every total is an exact integer."""
    services.start_projections()
    giver = donor(services)
    for _ in range(MAX_TOTAL_VND // MAX_AMOUNT_VND):
        receipt(services, giver, MAX_AMOUNT_VND)
    before = services.ledger.recorder.max_notification_id()
    with pytest.raises(TotalLimitReached):
        receipt(services, giver, 1)
    assert services.ledger.recorder.max_notification_id() == before  # nothing recorded
    assert services.runner.wait_for(before or 0, 60)

    funds = services.queries.trial_balance()
    assert funds["received_vnd"] == MAX_TOTAL_VND and type(funds["received_vnd"]) is int
    rows = services.db.query("SELECT received_vnd FROM fund_balances")
    assert [int(r["received_vnd"]) for r in rows] == [MAX_TOTAL_VND]
    assert all(isinstance(r["received_vnd"], int) for r in rows)  # never a float


def test_allocations_taken_back_and_made_again_count_towards_the_limit(
        services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """An allocation reversed and made again adds to the allocated figures each time (they count
    what was allocated and what came back): the cycle can't run a column past its range."""
    monkeypatch.setattr(ledger.application, "MAX_TOTAL_VND", 3_000_000)
    giver = donor(services)
    receipt(services, giver, 1_000_000)
    commune = communes(services)[0]

    def allocate() -> str:
        return str(services.ledger.allocate(CTX, "", fund="campaign", season="2021",
                                            commune=commune, category="other",
                                            amount_vnd=1_000_000, decision_ref="QĐ 1")["id"])

    for _ in range(3):
        services.ledger.reverse(CTX, "", target_id=UUID(allocate()), reason="nhầm")
    with pytest.raises(TotalLimitReached):
        allocate()
    services.runner.catch_up()
    row = services.db.query_one("SELECT allocated_vnd, returned_vnd FROM fund_balances")
    assert row is not None and (int(row["allocated_vnd"]), int(row["returned_vnd"])) == (
        3_000_000, 3_000_000)


def test_pledges_and_needs_are_limited_too(services: CompositionRoot,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger.application, "MAX_TOTAL_VND", 2_000_000)
    giver = donor(services)
    services.ledger.make_pledge(CTX, "", donor_id=giver, amount_vnd=2_000_000)
    with pytest.raises(TotalLimitReached):
        services.ledger.make_pledge(CTX, "", donor_id=giver, amount_vnd=1)
    commune = communes(services)[0]
    services.ledger.record_need(CTX, "", season="2021", commune=commune, category="other",
                                children_count=10, estimated_vnd=2_000_000)
    with pytest.raises(TotalLimitReached):
        services.ledger.record_need(CTX, "", season="2021", commune=commune,
                                    category="warm-clothing", children_count=10, estimated_vnd=1)
