"""Donors and their pledges."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRecorded, AlreadyReversed
from domain.meta import Meta
from domain.money import Goods, Restriction

DONOR_KINDS = ("individual", "business", "organisation", "fund", "agency")


class Donor(Aggregate):
    """A donor. Its rules (a known kind, a name) are the ledger's command checks: this constructor
    also applies stored events, and history must load even after the vocabulary changes.

    The legal name and the contact are sealed with the donor's own key (privacy.DONOR_FIELDS),
    whatever the kind: a household business or a sole trader bears a person's name, and the kind
    is staff's guess. `public_name` is what the donor agreed to publish (their own name when they
    gave no other and are not anonymous): it is public anyway, so it stays in clear."""

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,
        kind: str,
        public_name: str | None,
        anonymous: bool,
        sealed: dict[str, str],
        meta: Meta,
    ) -> None:
        """A donor was registered: kind and public name (or anonymity) in clear, personal fields sealed."""
        self.kind = kind
        self.public_name = public_name
        self.anonymous = anonymous
        self.sealed = sealed
        self.erased = False

    def erase(self, *, meta: Meta) -> None:
        if self.erased:
            raise AlreadyRecorded(f"donor {self.id} is already erased")
        self._erase(meta=meta)

    @event("Erased")
    def _erase(self, *, meta: Meta) -> None:
        """Records that the sealed fields were shredded (the key deleted); the reason is in the
        metadata's note. Nothing personal is in this event."""
        self.erased = True


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
        """A donor promised money or goods, maybe earmarked; receipts naming the pledge fulfil it."""
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
        """The pledge was cancelled (for the reason given): it no longer counts as pledged."""
        self.cancelled = True




class DonorKeys(Protocol):
    """Each donor's wrapped key and the keyed index of their folded legal name, kept outside the
    log: deleting a donor's row shreds both (the index too, since it could confirm a guess)."""

    def store(self, donor_id: UUID, wrapped_key: str, name_index: str) -> None: ...
    def load(self, donor_id: UUID) -> str | None: ...
    def delete(self, donor_id: UUID) -> bool: ...
    def named(self, name_index: str) -> list[UUID]: ...


class MemoryDonorKeys:
    """DonorKeys for a ledger without a database (unit tests)."""

    def __init__(self) -> None:
        self.rows: dict[UUID, tuple[str, str]] = {}

    def store(self, donor_id: UUID, wrapped_key: str, name_index: str) -> None:
        self.rows[donor_id] = (wrapped_key, name_index)

    def load(self, donor_id: UUID) -> str | None:
        row = self.rows.get(donor_id)
        return row[0] if row else None

    def delete(self, donor_id: UUID) -> bool:
        return self.rows.pop(donor_id, None) is not None

    def named(self, name_index: str) -> list[UUID]:
        return sorted((d for d, (_, index) in self.rows.items() if index == name_index), key=str)
