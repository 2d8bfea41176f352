"""Donors and their pledges."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRecorded, AlreadyReversed, InvalidInput, RestrictionMismatch
from domain.meta import Meta
from domain.money import Goods, Restriction, describe_restriction, same_restriction

DONOR_KINDS = ("individual", "business", "organisation", "fund", "agency")
# What a correction (Donor.Corrected) may change: in clear, and sealed (privacy.DONOR_FIELDS).
CORRECTABLE_IN_CLEAR = ("kind", "public_name", "anonymous")
DONOR_SEALED_FIELDS = ("name", "contact")


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

    def correct(self, *, public: dict[str, Any], sealed: dict[str, str], meta: Meta) -> None:
        """Correct some fields (the reason in the meta's note): `public` the changed public facts
        (kind, public_name, anonymous), `sealed` the changed personal fields, sealed already."""
        if self.erased:
            raise InvalidInput(f"donor {self.id} was erased: nothing of them can be corrected")
        unknown = set(public) - set(CORRECTABLE_IN_CLEAR)
        if unknown or set(sealed) - set(DONOR_SEALED_FIELDS):
            raise InvalidInput("only kind, public_name, anonymous, name and contact can be corrected")
        if not public and not sealed:
            raise InvalidInput("nothing to correct: every field given is as recorded")
        self._correct(public=public, sealed=sealed, meta=meta)

    @event("Corrected")
    def _correct(self, *, public: dict[str, Any], sealed: dict[str, str], meta: Meta) -> None:
        """Donor fields were corrected: changed public facts in clear, changed personal ones sealed."""
        for field, value in public.items():
            setattr(self, field, value)
        self.sealed = {**self.sealed, **sealed}

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
    """A promise to give; money arrives later as receipts naming the pledge, each earmarked as
    the pledge is (`receipt_restriction`)."""

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

    def receipt_restriction(self, given: Restriction) -> Restriction:
        """The restriction of a receipt for this pledge, given `given` (checked, maybe empty).

        The earmark is the donor's, made with the pledge: a receipt that names none takes the
        pledge's whole; one that names the same is accepted; any other (wider, narrower or
        elsewhere) is refused, since recording it would let the money be allocated where the
        donor did not ask. Narrowing is an allocation's decision, not a receipt's. An
        unrestricted pledge leaves the receipt's own restriction standing."""
        pledged: Restriction = {}
        if district := self.restriction.get("district"):
            pledged["district"] = district
        if commune := self.restriction.get("commune"):
            pledged["commune"] = commune
        if category := self.restriction.get("category"):
            pledged["category"] = category
        if not given:
            return pledged
        if not pledged or same_restriction(given, pledged):
            return given
        raise RestrictionMismatch(
            f"pledge {self.id} is restricted to {describe_restriction(pledged)}; a receipt for it "
            f"carries that restriction: give the same one or none, not {describe_restriction(given)}")

    @event("Cancelled")
    def _cancel(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        """The pledge was cancelled (for the reason given): nothing more is due, and only the
        part its receipts had paid still counts as pledged."""
        self.cancelled = True


def counted_as_pledged(amount_vnd: int, received_vnd: int, cancelled: bool) -> int:
    """What a pledge adds to the pledged total: its whole amount while it stands; once cancelled,
    the part its receipts (not reversed) paid, up to that amount. A donor who paid 4 of 10
    million and then withdrew did pledge, and give, those 4 million."""
    return min(max(received_vnd, 0), amount_vnd) if cancelled else amount_vnd


def outstanding_vnd(amount_vnd: int, received_vnd: int, cancelled: bool) -> int:
    """What a pledge still expects: nothing once cancelled or paid in full."""
    return 0 if cancelled else max(amount_vnd - received_vnd, 0)




class DonorKeys(Protocol):
    """Each donor's wrapped key and the keyed index of their folded legal name, kept outside the
    log: deleting a donor's row shreds both (the index too, since it could confirm a guess)."""

    def store(self, donor_id: UUID, wrapped_key: str, name_index: str) -> None: ...
    def load(self, donor_id: UUID) -> str | None: ...
    def delete(self, donor_id: UUID) -> bool: ...
    def named(self, name_index: str) -> list[UUID]: ...
    def reindex(self, donor_id: UUID, name_index: str) -> bool: ...


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

    def reindex(self, donor_id: UUID, name_index: str) -> bool:
        row = self.rows.get(donor_id)
        if row is None:
            return False
        self.rows[donor_id] = (row[0], name_index)
        return True
