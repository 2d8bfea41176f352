"""Donors and their pledges."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyReversed
from domain.meta import Meta
from domain.money import Goods, Restriction

DONOR_KINDS = ("individual", "business", "organisation", "fund", "agency")


class Donor(Aggregate):
    """A donor. Its rules (a known kind, a name) are the ledger's command checks: this constructor
    also applies stored events, and history must load even after the vocabulary changes."""

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,
        name: str,
        kind: str,
        public_name: str | None,
        anonymous: bool,
        contact: str | None,
        meta: Meta,
    ) -> None:
        self.name = name
        self.kind = kind
        self.public_name = public_name
        self.anonymous = anonymous
        self.contact = contact


class Pledge(Aggregate):
    """A promise to give; money arrives later as receipts naming the pledge."""

    @event("Made")
    def __init__(
        self,
        *,
        id: UUID,
        donor_id: UUID,
        amount_vnd: int,
        goods: Goods | None,
        restriction: Restriction,
        due_on: str | None,
        mobilised_by: str | None,
        note: str | None,
        meta: Meta,
    ) -> None:
        self.donor_id = donor_id
        self.amount_vnd = amount_vnd
        self.goods = goods
        self.restriction = restriction
        self.due_on = due_on
        self.mobilised_by = mobilised_by
        self.cancelled = False

    def cancel(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        if self.cancelled:
            raise AlreadyReversed(f"pledge {self.id} is already cancelled")
        self._cancel(reversal_id=reversal_id, reason=reason, meta=meta)

    @event("Cancelled")
    def _cancel(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        self.cancelled = True


