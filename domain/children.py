"""The child registry. Children are named only by id and code; personal fields are sealed."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateSupport
from domain.meta import Meta


class Child(Aggregate):
    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,
        code: str,
        district: str,
        commune: str,
        sealed: dict[str, str],
        meta: Meta,
    ) -> None:
        self.code = code
        self.district = district
        self.commune = commune
        self.sealed = sealed
        self.supported: dict[str, str] = {}  # "season|category" → distribution id

    def check_support(self, *, season: str, category: str, duplicate_reason: str | None) -> bool:
        """True when this support repeats an earlier one (allowed only with a recorded reason)."""
        repeated = f"{season}|{category}" in self.supported
        if repeated and not duplicate_reason:
            raise DuplicateSupport(
                f"child {self.code} already received {category} support in season {season}; "
                "record a duplicate_reason to give it again"
            )
        return repeated

    @event("SupportReceived")
    def receive_support(
        self,
        *,
        distribution_id: UUID,
        season: str,
        category: str,
        value_vnd: int,
        override_reason: str | None,
        meta: Meta,
    ) -> None:
        self.supported.setdefault(f"{season}|{category}", str(distribution_id))

    @event("SupportWithdrawn")
    def withdraw_support(self, *, distribution_id: UUID, season: str, category: str, meta: Meta) -> None:
        key = f"{season}|{category}"
        if self.supported.get(key) == str(distribution_id):
            del self.supported[key]
