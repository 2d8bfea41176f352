"""Four eyes on large sums (issue 12, item 8): a proposal waits for a second person.

An allocation or a reversal whose value is above the four-eyes amount (`FOUR_EYES_VND`, the
setting MINHBACH_FOUR_EYES_VND) is not applied at once: the ledger records a `Proposal` with the
command's checked arguments, and the command takes effect only when someone else, of a role
that may decide (finance or admin), approves it. The approval and the allocation or reversal it
makes are saved in one transaction, so a proposal is applied at most once: two approvers at once
race for the proposal's next version, and the loser finds it decided.

A proposal moves no money and reserves none: while pending, nothing of it is allocated, spent
or shown to the public (its events' leaves are null). The money rules are checked when it is
proposed and again when it is approved (funds may have gone meanwhile).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyDecided, InvalidInput, NotAllowed, SamePerson
from domain.meta import Meta

FOUR_EYES_VND = 100_000_000
"""The default four-eyes amount (DESIGN §7): values above it wait for a second person."""

KINDS = ("allocation", "reversal")
DECIDERS = ("finance", "admin")
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)


def needs_second_person(value_vnd: int, four_eyes_vnd: int) -> bool:
    """Strictly above the amount: an allocation of exactly the amount takes effect at once."""
    return value_vnd > four_eyes_vnd


class Proposal(Aggregate):
    """Rules are checked by the methods before an event; the event methods only apply them, so
    stored history always loads."""

    @event("Proposed")
    def __init__(self, *, id: UUID, kind: str, arguments: dict[str, Any], amount_vnd: int,
                 proposer: str, proposer_role: str, meta: Meta) -> None:
        """An allocation or a reversal above the four-eyes amount was proposed (`arguments` are
        the command's, as checked; `amount_vnd` its value then): it moves no money until a second
        person approves it."""
        self.kind = kind
        self.arguments = arguments
        self.amount_vnd = amount_vnd
        self.proposer = proposer
        self.proposer_role = proposer_role
        self.status = PENDING
        self.decided_by: str | None = None
        self.result_id: UUID | None = None

    @classmethod
    def propose(cls, *, id: UUID, kind: str, arguments: dict[str, Any], amount_vnd: int,
                proposer: str, proposer_role: str, meta: Meta) -> Proposal:
        if kind not in KINDS:
            raise InvalidInput(f"unknown proposal kind {kind!r}; expected one of {list(KINDS)}")
        if proposer_role not in DECIDERS:
            raise NotAllowed(f"role {proposer_role!r} may not propose an {kind}")
        return cls(id=id, kind=kind, arguments=arguments, amount_vnd=amount_vnd,
                   proposer=proposer, proposer_role=proposer_role, meta=meta)

    def check_decision(self, *, by: str, role: str, approving: bool) -> None:
        """Refuse a decision that breaks the rules: only finance or admin decide, once, and the
        proposer never approves (they may withdraw their own proposal by rejecting it)."""
        if role not in DECIDERS:
            raise NotAllowed(f"role {role!r} may not decide on a proposal; needs finance or admin")
        # The proposer hears the same refusal whatever else happened meanwhile.
        if approving and by == self.proposer:
            raise SamePerson(f"proposal {self.id} was made by {by}: another person must approve it")
        if self.status != PENDING:
            raise AlreadyDecided(f"proposal {self.id} was already {self.status}"
                                 + (f" by {self.decided_by}" if self.decided_by else ""))

    def approve(self, *, by: str, role: str, result_id: UUID, reason: str | None,
                meta: Meta) -> None:
        self.check_decision(by=by, role=role, approving=True)
        self._approve(by=by, result_id=result_id, reason=reason, meta=meta)

    @event("Approved")
    def _approve(self, *, by: str, result_id: UUID, reason: str | None, meta: Meta) -> None:
        """A second person approved the proposal: the allocation or reversal it proposed
        (`result_id`) was recorded in the same transaction, its rules checked again then."""
        self.status = APPROVED
        self.decided_by = by
        self.result_id = result_id

    def reject(self, *, by: str, role: str, reason: str, meta: Meta) -> None:
        self.check_decision(by=by, role=role, approving=False)
        if not reason:
            raise InvalidInput("a rejection needs its reason")
        self._reject(by=by, reason=reason, meta=meta)

    @event("Rejected")
    def _reject(self, *, by: str, reason: str, meta: Meta) -> None:
        """The proposal was rejected (or withdrawn by its proposer), for the reason given:
        nothing of it is ever applied."""
        self.status = REJECTED
        self.decided_by = by
