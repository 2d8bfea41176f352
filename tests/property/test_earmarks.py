"""Earmarks follow pledges, and a cancelled pledge keeps its paid part (issue 12, items 4 and 7).

First, a Hypothesis state machine on the in-memory ledger (no database, so it runs many steps):
random pledges, restricted or not, receipts for them with no restriction, the same one (written
with or without the district its commune implies) or another, cancellations, and allocations to
random places and categories. The model says which places a restriction allows, over the small
world of the machine; two restrictions are the same when they allow the same places. Then:

- every recorded receipt for a restricted pledge allows exactly the places the pledge allows;
- a receipt that names another restriction is refused (`RestrictionMismatch`) and records nothing;
- no allocation ever draws on a receipt that does not allow the allocation's place and category.

Second, on SQLite with the read models: random pledges, part or whole payments, reversals of
those payments, cancellations, and the projections brought up to date at random points (so that
a pledge and its receipts fall in one batch or in several). The pledged total of the public
summary, the ledger's total under its limit, and each donor's pledged and outstanding figures
equal the model's: a pledge counts whole while it stands, and once cancelled for what it was
paid; and projecting the log again from the start gives the same rows.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from domain.errors import (
    AlreadyReversed,
    DomainError,
    InsufficientFunds,
    InvalidInput,
    RestrictionMismatch,
)
from domain.meta import Context
from domain.money import restriction_allows
from domain.receipts import Receipt
from ledger.application import Ledger
from ledger.bootstrap import CompositionRoot
from projections.donations import Donations
from projections.runner import Runner
from tests.conftest import make_services
from tests.helpers import open_seasons
from tests.integration.test_public_speed import dump
from tests.unit.test_rules import AREAS, C1, C2, C3, D1, D2, FINANCE, SERVICE_KEY

COMMUNES = {C1: D1, C2: D1, C3: D2}
CATEGORIES = ("warm-clothing", "tet-gifts")
PLACES = [(district, commune, category) for commune, district in COMMUNES.items()
          for category in CATEGORIES]
KINDS = ("none", "commune", "district", "category", "commune+category", "district+category")

Place = tuple[str, str, str]


def restriction_of(kind: str, commune: str, category: str) -> dict[str, str]:
    restriction: dict[str, str] = {}
    if "commune" in kind:
        restriction["commune"] = commune
    if "district" in kind:
        restriction["district"] = COMMUNES[commune]
    if "category" in kind:
        restriction["category"] = category
    return restriction


def allowed(restriction: dict[str, Any]) -> frozenset[Place]:
    """The places and categories money so earmarked may pay for, in the machine's world."""
    return frozenset(
        (d, c, k) for d, c, k in PLACES
        if restriction.get("district", d) == d and restriction.get("commune", c) == c
        and restriction.get("category", k) == k)


@dataclass
class MPledge:
    id: UUID
    donor: UUID
    restriction: dict[str, str]
    cancelled: bool = False


class EarmarkMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.receipt_ids: list[UUID] = []
        self.ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"}, areas=AREAS,
                             open_receipts=self.open_receipts,
                             service_key=SERVICE_KEY, position_of=self.position_of)
        open_seasons(self.ledger)
        self.n = 0
        self.donors: list[UUID] = []
        self.pledges: list[MPledge] = []
        # receipt id → the places the model says it may pay for
        self.allows: dict[str, frozenset[Place]] = {}
        self.of_pledge: dict[str, MPledge] = {}

    def open_receipts(self, fund: str, item: str | None, district: str, commune: str,
                      category: str) -> list[UUID]:
        """Every receipt: first those whose recorded restriction allows the place (as the read
        model answers), then the others, which the ledger must leave alone (it stops reading
        once what it has read covers the need, so they come last)."""
        def fits(receipt_id: UUID) -> bool:
            stored = self.ledger.require(receipt_id, Receipt, "receipt")
            return restriction_allows(stored.restriction, district, commune, category)

        return sorted(self.receipt_ids, key=lambda r: not fits(r))

    def position_of(self, aggregate_id: UUID) -> int:
        for n in self.ledger.recorder.select_notifications(start=1, limit=1_000_000):
            if n.originator_id == aggregate_id and n.originator_version == 1:
                return n.id
        raise LookupError(aggregate_id)

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def run(self, expected: type[DomainError] | None, command: Any, **kwargs: Any) -> dict[str, Any] | None:
        """The command, accepted if `expected` is None, else refused so and recording nothing."""
        self.n += 1
        head = self.head()
        try:
            answer: dict[str, Any] = command(FINANCE, f"call-{self.n}", **kwargs)
        except DomainError as e:
            assert expected is not None and isinstance(e, expected), f"refused with {e!r}"
            assert self.head() == head, "a refused command recorded something"
            return None
        assert expected is None, f"accepted; the model expected {expected.__name__}"
        return answer

    @initialize()
    def start(self) -> None:
        for name in ("Nguyễn Văn An", "Công ty TNHH Hoà Bình"):
            self.donors.append(UUID(self.ledger.register_donor(FINANCE, f"donor-{name}", name=name,
                                                               kind="individual")["id"]))

    @rule(donor=st.integers(0, 1), kind=st.sampled_from(KINDS), commune=st.sampled_from(sorted(COMMUNES)),
          category=st.sampled_from(CATEGORIES))
    def make_pledge(self, donor: int, kind: str, commune: str, category: str) -> None:
        restriction = restriction_of(kind, commune, category)
        made = self.run(None, self.ledger.make_pledge, donor_id=self.donors[donor],
                        amount_vnd=5_000_000, restriction=restriction)
        assert made is not None
        self.pledges.append(MPledge(UUID(made["id"]), self.donors[donor], restriction))

    @rule(pledge=st.integers(0, 100), how=st.sampled_from(("none", "same", "same-long", "other")),
          kind=st.sampled_from(KINDS), commune=st.sampled_from(sorted(COMMUNES)),
          category=st.sampled_from(CATEGORIES), amount=st.integers(1, 30).map(lambda k: k * 100_000))
    def receive(self, pledge: int, how: str, kind: str, commune: str, category: str,
                amount: int) -> None:
        """A receipt for a pledge: with no restriction, the pledge's own (as it was given, or
        with the district its commune implies), or a random one, which may happen to be the same."""
        p = self.pledges[pledge % len(self.pledges)] if self.pledges else None
        given: dict[str, str] | None
        if p is None or how == "other":
            given = restriction_of(kind, commune, category)
        elif how == "none":
            given = None
        else:
            given = dict(p.restriction)
            if how == "same-long" and "commune" in given:
                given["district"] = COMMUNES[given["commune"]]
        expected: type[DomainError] | None = None
        if p is not None and p.cancelled:
            expected = InvalidInput
        elif p is not None and p.restriction and given and allowed(given) != allowed(p.restriction):
            expected = RestrictionMismatch
        answer = self.run(expected, self.ledger.record_receipt, donor_id=p.donor if p else self.donors[0],
                          fund="campaign", received_on="2021-03-01", channel="bank",
                          amount_vnd=amount, restriction=given, pledge_id=p.id if p else None)
        if answer is None:
            event(f"receipt refused: {expected.__name__ if expected else '?'}")
            return
        receipt_id = answer["id"]
        self.receipt_ids.append(UUID(receipt_id))
        # What the model says the receipt may pay for: the pledge's earmark, if it has one.
        self.allows[receipt_id] = allowed(p.restriction if p and p.restriction else given or {})
        if p is not None:
            self.of_pledge[receipt_id] = p

    @rule(pledge=st.integers(0, 100))
    def cancel(self, pledge: int) -> None:
        if not self.pledges:
            return
        p = self.pledges[pledge % len(self.pledges)]
        self.run(AlreadyReversed if p.cancelled else None, self.ledger.reverse, target_id=p.id,
                 reason="rút cam kết")
        p.cancelled = True

    @rule(commune=st.sampled_from(sorted(COMMUNES)), category=st.sampled_from(CATEGORIES),
          amount=st.integers(1, 40).map(lambda k: k * 100_000))
    def allocate(self, commune: str, category: str, amount: int) -> None:
        place = (COMMUNES[commune], commune, category)
        # Enough or not is the ledger's to say (FIFO over what is left): either answer will do,
        # but refused, it must be for want of money, and must record nothing.
        n = self.n = self.n + 1
        head = self.head()
        try:
            answer = self.ledger.allocate(FINANCE, f"call-{n}", fund="campaign", season="2021",
                                          commune=commune, category=category,
                                          decision_ref="QĐ 12/QĐ-UBND", amount_vnd=amount)
        except InsufficientFunds:
            assert self.head() == head
            available = sum(self.ledger.require(r, Receipt, "receipt").remaining_vnd
                            for r in self.receipt_ids if place in self.allows[str(r)])
            assert available < amount, "refused although the allowed receipts held enough"
            return
        for draw in answer["drawn_from"]:
            assert place in self.allows[draw["receipt_id"]], (
                f"an allocation to {place} drew on a receipt earmarked elsewhere")

    @invariant()
    def receipts_carry_their_pledges_earmark(self) -> None:
        for receipt_id, p in self.of_pledge.items():
            stored = self.ledger.require(UUID(receipt_id), Receipt, "receipt")
            assert stored.pledge_id == p.id
            if p.restriction:
                assert allowed(dict(stored.restriction)) == allowed(p.restriction)
            assert allowed(dict(stored.restriction)) == self.allows[receipt_id]


def test_earmarks_follow_pledges() -> None:
    run_state_machine_as_test(EarmarkMachine, settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))


# ---- a cancelled pledge keeps its paid part, in every read model ----------------------------------

CTX = Context(actor="test", role="finance", request_id="cancelled-pledges")


@dataclass
class PledgeModel:
    amount_vnd: int
    receipts: dict[UUID, int] = field(default_factory=dict)  # not reversed
    cancelled: bool = False

    @property
    def paid_vnd(self) -> int:
        return sum(self.receipts.values())

    @property
    def pledged_vnd(self) -> int:
        return min(self.paid_vnd, self.amount_vnd) if self.cancelled else self.amount_vnd

    @property
    def outstanding_vnd(self) -> int:
        return 0 if self.cancelled else max(0, self.amount_vnd - self.paid_vnd)


@dataclass
class Shared:
    services: CompositionRoot
    pledges: list[PledgeModel]  # of every example so far: the ledger keeps them all
    names: Iterator[int]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    tmp = tmp_path_factory.mktemp("pledges")
    svc = make_services(f"sqlite:///{tmp / 'ledger.db'}", tmp / "data")
    try:
        yield Shared(svc, [], itertools.count())
    finally:
        svc.close()


Step = tuple[str, int, int]
# Pledges are picked by small indices (modulo how many there are), so that the same few are paid,
# cancelled and have their payments undone, in any order.
pledge_steps = st.lists(st.one_of(
    st.tuples(st.just("pledge"), st.integers(0, 1), st.integers(1, 10)),  # donor, millions
    st.tuples(st.just("pay"), st.integers(0, 3), st.integers(1, 12)),  # pledge, × 500,000 đồng
    st.tuples(st.just("pay"), st.integers(0, 3), st.integers(1, 12)),
    st.tuples(st.just("undo"), st.integers(0, 3), st.integers(0, 5)),  # pledge, receipt
    st.tuples(st.just("cancel"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("project"), st.just(0), st.just(0)),
), min_size=6, max_size=30)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=pledge_steps)
def test_a_cancelled_pledge_counts_for_what_it_was_paid(shared: Shared, steps: list[Step]) -> None:
    svc = shared.services
    ledger = svc.ledger

    def call() -> str:
        return uuid.uuid4().hex

    donors = [UUID(ledger.register_donor(CTX, call(), name=f"Nhà hảo tâm {next(shared.names)}",
                                         kind="individual")["id"]) for _ in range(2)]
    mine: list[tuple[UUID, UUID, PledgeModel]] = []  # pledge id, donor, model
    for kind, a, b in steps:
        if kind == "pledge":
            made = ledger.make_pledge(CTX, call(), donor_id=donors[a], amount_vnd=b * 1_000_000)
            model = PledgeModel(b * 1_000_000)
            mine.append((UUID(made["id"]), donors[a], model))
            shared.pledges.append(model)
        elif kind == "project":
            svc.runner.catch_up()
        elif not mine:
            continue
        elif kind == "pay":
            pledge_id, donor_id, model = mine[a % len(mine)]
            if model.cancelled:
                continue
            paid = ledger.record_receipt(CTX, call(), donor_id=donor_id, fund="campaign",
                                         received_on="2021-03-01", channel="cash",
                                         amount_vnd=b * 500_000, pledge_id=pledge_id)
            model.receipts[UUID(paid["id"])] = b * 500_000
        elif kind == "undo":
            _, _, model = mine[a % len(mine)]
            if model.receipts:
                receipt_id = sorted(model.receipts, key=str)[b % len(model.receipts)]
                ledger.reverse(CTX, call(), target_id=receipt_id, reason="ghi nhầm")
                del model.receipts[receipt_id]
        elif kind == "cancel":
            pledge_id, _, model = mine[a % len(mine)]
            if not model.cancelled:
                ledger.reverse(CTX, call(), target_id=pledge_id, reason="rút cam kết")
                model.cancelled = True
                event("a pledge cancelled " + ("unpaid" if not model.paid_vnd else "partly paid"
                                               if model.paid_vnd < model.amount_vnd else "paid"))
    svc.runner.catch_up()

    everyone = sum(p.pledged_vnd for p in shared.pledges)
    assert svc.queries.summary()["pledged_vnd"] == everyone
    assert svc.queries.total("pledged")[0] == everyone
    for donor_id in donors:
        theirs = [(pid, m) for pid, d, m in mine if d == donor_id]
        view = svc.queries.donor(str(donor_id))
        assert view is not None
        assert view["pledged_vnd"] == sum(m.pledged_vnd for _, m in theirs)
        assert sorted((p["pledge_id"], p["outstanding_vnd"]) for p in view["outstanding_pledges"]) == sorted(
            (str(pid), m.outstanding_vnd) for pid, m in theirs if m.outstanding_vnd)

    # Projected again, in small batches (a pledge and its receipts cut apart) and in one: the same.
    live = dump(svc.db, Donations.tables)
    for batch_size in (3, 1000):
        Runner(svc.db, ledger, [Donations()], batch_size=batch_size).rebuild()
        assert dump(svc.db, Donations.tables) == live, batch_size
