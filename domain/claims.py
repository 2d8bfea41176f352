"""A value that may be claimed once in the whole ledger (a bank transaction id, say).

The claim is its own aggregate with a deterministic id: two commands claiming the same value
race for version 1 of the same aggregate, and the store lets only one of them in."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRecorded
from domain.meta import Meta

_NAMESPACE = UUID("0e9b7a61-2d5f-4f7c-8a4a-5b3f1d2c9e10")


def claim_id(kind: str, value: str) -> UUID:
    return uuid5(_NAMESPACE, f"{kind}|{value}")


class Claim(Aggregate):
    @event("Claimed")
    def __init__(self, *, id: UUID, kind: str, value: str, owner_id: UUID, meta: Meta) -> None:
        """A value that may be recorded once in the whole ledger (a bank transaction id) was taken."""
        self.kind = kind
        self.value = value
        self.owner_id: UUID | None = owner_id

    @event("Released")
    def release(self, *, meta: Meta) -> None:
        """The owner was reversed: the value may be claimed again by its correction."""
        self.owner_id = None

    def reclaim(self, *, owner_id: UUID, meta: Meta) -> None:
        if self.owner_id is not None:
            raise AlreadyRecorded(f"{self.kind} {self.value!r} is claimed; only a released claim "
                                  "can be claimed again")
        self._reclaim(owner_id=owner_id, meta=meta)

    @event("Reclaimed")
    def _reclaim(self, *, owner_id: UUID, meta: Meta) -> None:
        """A released value was taken again by a new owner (a corrected receipt, a new match)."""
        self.owner_id = owner_id
