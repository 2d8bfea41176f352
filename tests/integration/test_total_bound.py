"""The bound Ledger.within_limit checks while the read models trail the log (ledger/total_bound.py):
never below the total at the log's head, and tight enough that a command needn't apply the log
to the read models itself first. On SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import UUID

import pytest

import ledger.total_bound
from domain.meta import Context
from domain.money import MAX_AMOUNT_VND, RAISED_BY
from ledger.bootstrap import CompositionRoot
from ledger.total_bound import TotalBounds
from projections.queries import TOTALS_SQL
from tests.helpers import communes

CTX = Context(actor="test", role="finance")


def _donor(services: CompositionRoot) -> UUID:
    return UUID(services.ledger.register_donor(CTX, "", name="Hội Chữ thập đỏ", kind="organisation")["id"])


def _receipt(services: CompositionRoot, giver: UUID, amount: int) -> UUID:
    return UUID(str(services.ledger.record_receipt(
        CTX, "", donor_id=giver, fund="campaign", received_on="2021-03-01", channel="bank",
        amount_vnd=amount)["id"]))


def _tail(bounds: TotalBounds, services: CompositionRoot, figure: str) -> int:
    return bounds.tail(figure, *services.queries.total(figure), enough=0)  # read to the head


def _exact(services: CompositionRoot, figure: str) -> int:
    services.runner.catch_up()
    total, position, head = services.queries.total(figure)
    assert position == head
    return total


def test_the_table_names_every_kind_its_read_model_reads(services: CompositionRoot) -> None:
    """A handler added to the projection must be placed in domain.money.RAISED_BY: until it is,
    its events count as the largest amount (sound, but the bound loses its point)."""
    named = {p.name: p for p in services.runner.projections}
    for figure, kinds in RAISED_BY.items():
        assert named[TOTALS_SQL[figure][0]].kinds() == frozenset(kinds), figure


def test_the_bound_adds_what_each_new_event_adds(services: CompositionRoot) -> None:
    bounds = TotalBounds(services.queries, services.ledger, services.runner.projections)
    giver = _donor(services)
    services.runner.catch_up()
    _receipt(services, giver, 1_000_000)
    _receipt(services, giver, 2_500_000)
    # The read model has none of them; the bound has exactly both, and no allocation.
    assert services.queries.total("received")[0] == 0
    assert _tail(bounds, services, "received") == 3_500_000
    assert _tail(bounds, services, "allocated") == 0

    services.ledger.allocate(CTX, "", fund="campaign", season="2021", commune=communes(services)[0],
                             category="other", amount_vnd=1_200_000, decision_ref="QĐ 7")
    third = _receipt(services, giver, 400_000)
    assert _tail(bounds, services, "allocated") == 1_200_000  # read once more, from where it was
    assert _tail(bounds, services, "received") == 3_900_000
    assert _exact(services, "received") == 3_900_000

    # A decrease is not subtracted until the read model has it: still a bound.
    services.ledger.reverse(CTX, "", target_id=third, reason="nhầm tài khoản")
    assert _tail(bounds, services, "received") == 3_900_000
    assert _exact(services, "received") == 3_500_000
    # The read model has passed what was read here: the bound starts again from it.
    _receipt(services, giver, 100_000)
    assert _tail(bounds, services, "received") == 3_600_000


def test_an_event_the_table_does_not_name_counts_as_the_largest_amount(
        services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RAISED_BY, "received", {
        k: v for k, v in RAISED_BY["received"].items() if k != "Receipt.Recorded"})
    bounds = TotalBounds(services.queries, services.ledger, services.runner.projections)
    giver = _donor(services)
    services.runner.catch_up()
    for amount in (10, 20, 30):
        _receipt(services, giver, amount)
    assert _tail(bounds, services, "received") == 3 * MAX_AMOUNT_VND


def test_a_command_no_longer_applies_the_log_itself_when_the_read_models_trail(
        services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """With each unapplied event worth a tenth of the limit, ten of them make the one-query bound
    useless, as a thousand do in a statement import; the commands go on without moving the read
    models, and the bound is their exact sum. (test_total_limit.py shows the limit refusing.)"""
    monkeypatch.setattr(ledger.total_bound, "MAX_AMOUNT_VND", 10**17)
    giver = _donor(services)
    services.runner.catch_up()
    before = services.queries.total("received")[1]
    for _ in range(12):
        _receipt(services, giver, 1_000_000)
    total, position, head = services.queries.total("received")
    assert (total, position) == (0, before) and head - position >= 12  # nobody caught up
    bounds = TotalBounds(services.queries, services.ledger, services.runner.projections)
    assert bounds.upper("received") == 12_000_000


def test_the_bound_reads_new_events_only_when_it_must(
        services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each receipt of a surge would otherwise read the events the others recorded since: the
    events not yet read count at the largest amount until that bound comes near the limit."""
    monkeypatch.setattr(ledger.total_bound, "MAX_AMOUNT_VND", 10**17)  # the limit is ten of them
    giver = _donor(services)
    services.runner.catch_up()
    for _ in range(12):
        _receipt(services, giver, 1_000_000)
    bounds = TotalBounds(services.queries, services.ledger, services.runner.projections)
    assert bounds.upper("received") == 12_000_000  # 12 unread events: too many, all read
    for _ in range(3):
        _receipt(services, giver, 1_000_000)
    assert bounds.upper("received") == 12_000_000 + 3 * 10**17  # 3 unread: room for one more
    for _ in range(7):
        _receipt(services, giver, 1_000_000)
    assert bounds.upper("received") == 22_000_000  # 10 unread: read, to the head
