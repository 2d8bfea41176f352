"""Four eyes (issue 12, item 8) as a Hypothesis state machine on the in-memory ledger.

Random receipts, allocations below and above the four-eyes amount, reversals of allocations
(large ones proposed too), and approvals and rejections of random proposals by random people:
two finance officers, an admin, a district officer and an auditor. A model says what each call
must do (refused with which error, or applied), and after every step:

- a proposal is decided at most once, and never approved by whoever proposed it;
- every allocation or reversal in the log is a direct one below the amount or one an approval
  made, in the same transaction as that approval; nothing is ever allocated or reversed twice;
- a pending proposal moves no money: what the receipts hold is what the model says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import (
    AlreadyDecided,
    AlreadyReversed,
    DomainError,
    InsufficientFunds,
    NotAllowed,
    SamePerson,
)
from domain.meta import Context
from domain.receipts import Receipt
from tests.unit.test_rules import C1, C2, Book

FOUR_EYES_VND = 1_000_000
PEOPLE = {
    "an": Context(actor="an", role="finance"),
    "binh": Context(actor="binh", role="finance"),
    "chi": Context(actor="chi", role="admin"),
    "dung": Context(actor="dung", role="district"),
    "giang": Context(actor="giang", role="auditor"),
}
PROPOSERS = ("an", "binh", "chi")


@dataclass
class MProposal:
    id: UUID
    kind: str
    proposer: str
    amount_vnd: int
    target: str | None = None  # the allocation a reversal names
    status: str = "pending"


class FourEyesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = Book()
        self.book.ledger.four_eyes_vnd = FOUR_EYES_VND
        self.available = 0
        self.proposals: list[MProposal] = []
        self.allocations: dict[str, int] = {}  # id → amount
        self.reversed: set[str] = set()

    @initialize()
    def start(self) -> None:
        self.receive(4)
        self.receive(4)

    def run(self, expected: type[DomainError] | None, command: Any, ctx: Context,
            **kwargs: Any) -> dict[str, Any] | None:
        event(f"{command.__name__}: {expected.__name__ if expected else 'applied'}")
        head = self.book.head()
        try:
            answer: dict[str, Any] = command(ctx, self.book._hash(), **kwargs)
        except DomainError as e:
            assert expected is not None and isinstance(e, expected), f"refused with {e!r}"
            assert self.book.head() == head, "a refused command recorded something"
            return None
        assert expected is None, f"applied; the model expected {expected.__name__}"
        return answer

    # ---- rules ------------------------------------------------------------------------------

    @rule(units=st.integers(1, 4))
    def receive(self, units: int) -> None:
        self.book.receive(units * 500_000)
        self.available += units * 500_000

    # Around the amount, where the rule changes, and anywhere up to twice it.
    @rule(amount=st.sampled_from([FOUR_EYES_VND - 1, FOUR_EYES_VND, FOUR_EYES_VND + 1, 1_500_000])
          | st.integers(1, 2 * FOUR_EYES_VND), who=st.sampled_from(PROPOSERS),
          commune=st.sampled_from([C1, C2]))
    def allocate(self, amount: int, who: str, commune: str) -> None:
        expected = InsufficientFunds if amount > self.available else None
        answer = self.run(expected, self.book.ledger.allocate, PEOPLE[who], fund="campaign",
                          season="2021", commune=commune, category="warm-clothing",
                          decision_ref="QĐ 1", amount_vnd=amount)
        if answer is None:
            return
        if amount > FOUR_EYES_VND:
            event("allocate: proposed")
            assert answer["status"] == "proposed" and answer["amount_vnd"] == amount
            self.proposals.append(MProposal(UUID(answer["id"]), "allocation", who, amount))
        else:
            assert "status" not in answer
            self.allocations[answer["id"]] = amount
            self.available -= amount

    @precondition(lambda self: self.allocations)
    @rule(data=st.data(), who=st.sampled_from(PROPOSERS))
    def reverse(self, data: st.DataObject, who: str) -> None:
        target = data.draw(st.sampled_from(list(self.allocations)))
        amount = self.allocations[target]
        expected = AlreadyReversed if target in self.reversed else None
        answer = self.run(expected, self.book.ledger.reverse, PEOPLE[who],
                          target_id=UUID(target), reason="nhầm")
        if answer is None:
            return
        if amount > FOUR_EYES_VND:
            assert answer["status"] == "proposed"
            self.proposals.append(MProposal(UUID(answer["id"]), "reversal", who, amount, target))
        else:
            self.reversed.add(target)
            self.available += amount

    @precondition(lambda self: self.proposals)
    @rule(data=st.data(), who=st.sampled_from(sorted(PEOPLE)))
    def approve(self, data: st.DataObject, who: str) -> None:
        self._approve(data.draw(st.sampled_from(self.proposals)), who)

    @precondition(lambda self: any(p.status == "pending" for p in self.proposals))
    @rule(data=st.data(), other=st.integers(0, 1))
    def approve_a_pending_one_by_someone_else(self, data: st.DataObject, other: int) -> None:
        """Most random approvals are refused: this one is meant to be applied (or fail on money)."""
        p = data.draw(st.sampled_from([p for p in self.proposals if p.status == "pending"]))
        self._approve(p, [w for w in PROPOSERS if w != p.proposer][other])

    def _approve(self, p: MProposal, who: str) -> None:
        ctx = PEOPLE[who]
        expected: type[DomainError] | None
        if ctx.role not in ("finance", "admin"):
            expected = NotAllowed
        elif who == p.proposer:
            expected = SamePerson
        elif p.status != "pending":
            expected = AlreadyDecided
        elif p.kind == "allocation":
            expected = InsufficientFunds if p.amount_vnd > self.available else None
        else:
            expected = AlreadyReversed if p.target in self.reversed else None
        answer = self.run(expected, self.book.ledger.approve_proposal, ctx, proposal_id=p.id)
        if answer is None:
            return
        assert (answer["status"], answer["proposal_id"]) == ("approved", str(p.id))
        p.status = "approved"
        if p.kind == "allocation":
            self.allocations[answer["id"]] = p.amount_vnd
            self.available -= p.amount_vnd
        else:
            assert p.target is not None and answer["target_id"] == p.target
            self.reversed.add(p.target)
            self.available += p.amount_vnd

    @precondition(lambda self: self.proposals)
    @rule(data=st.data(), who=st.sampled_from(sorted(PEOPLE)))
    def reject(self, data: st.DataObject, who: str) -> None:
        p = data.draw(st.sampled_from(self.proposals))
        ctx = PEOPLE[who]
        expected: type[DomainError] | None = (
            NotAllowed if ctx.role not in ("finance", "admin")
            else AlreadyDecided if p.status != "pending" else None)
        if self.run(expected, self.book.ledger.reject_proposal, ctx, proposal_id=p.id,
                    reason="không đúng quyết định") is not None:
            p.status = "rejected"

    # ---- invariants ---------------------------------------------------------------------------

    @invariant()
    def decided_once_never_by_the_proposer(self) -> None:
        events = self.book.events()
        proposed = {e.originator_id: e.proposer for e in events
                    if type(e).__qualname__ == "Proposal.Proposed"}
        decisions = Counter(e.originator_id for e in events
                            if type(e).__qualname__ in ("Proposal.Approved", "Proposal.Rejected"))
        assert set(decisions.values()) <= {1}
        for e in events:
            if type(e).__qualname__ == "Proposal.Approved":
                assert e.by != proposed[e.originator_id]
        status = dict.fromkeys(proposed, "pending")
        for e in events:
            if type(e).__qualname__ in ("Proposal.Approved", "Proposal.Rejected"):
                status[e.originator_id] = type(e).__qualname__.split(".")[1].lower()
        assert status == {p.id: p.status for p in self.proposals}

    @invariant()
    def every_allocation_and_reversal_is_direct_or_approved_with_it(self) -> None:
        events = self.book.events()
        made = [e for e in events if type(e).__qualname__ == "Allocation.Made"]
        undone = [e for e in events if type(e).__qualname__ == "Allocation.Reversed"]
        assert sorted(str(e.originator_id) for e in made) == sorted(self.allocations)
        assert sorted(str(e.originator_id) for e in undone) == sorted(self.reversed)
        approved = {e.originator_id: e for e in events if type(e).__qualname__ == "Proposal.Approved"}
        for e in [*made, *undone]:
            proposal = e.meta.get("proposal")
            value = e.amount_vnd if hasattr(e, "amount_vnd") else self.allocations[str(e.originator_id)]
            if proposal is None:
                assert value <= FOUR_EYES_VND
                continue
            approval = approved[UUID(str(proposal["id"]))]
            result = e.reversal_id if type(e).__qualname__ == "Allocation.Reversed" else e.originator_id
            assert approval.result_id == result and approval.meta["actor"] == e.meta["actor"]

    @invariant()
    def pending_proposals_move_no_money(self) -> None:
        held = sum(self.book.ledger.require(r, Receipt, "receipt").remaining_vnd
                   for r in self.book.receipts)
        assert held == self.available


TestFourEyes = FourEyesMachine.TestCase
TestFourEyes.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])
