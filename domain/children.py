"""The child registry. Children are named only by id and code; personal fields are sealed."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateSupport
from domain.meta import Meta

SEXES = ("female", "male", "other")
"""What a child's `sex` may be when registered (domain/inputs.py checks it). It is a personal
field, sealed with the others (privacy.PERSONAL_FIELDS), so no read model counts by it."""


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
        """A child was registered in a commune under a pseudonymous code; personal fields are sealed."""
        self.code = code
        self.district = district
        self.commune = commune
        self.sealed = sealed
        # "season|category" → the distributions (still standing) that gave it
        self.supported: dict[str, list[str]] = {}

    def check_support(self, *, season: str, category: str, duplicate_reason: str | None) -> bool:
        """True when this support repeats an earlier one (allowed only with a recorded reason)."""
        repeated = bool(self.supported.get(f"{season}|{category}"))
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
        """The child got support of a category in a season; a repeat carries the officer's reason."""
        self.supported.setdefault(f"{season}|{category}", []).append(str(distribution_id))

    @event("SupportWithdrawn")
    def withdraw_support(self, *, distribution_id: UUID, season: str, category: str, meta: Meta) -> None:
        """A distribution that supported the child was reversed: that support no longer counts."""
        key = f"{season}|{category}"
        standing = [d for d in self.supported.get(key, []) if d != str(distribution_id)]
        if standing:
            self.supported[key] = standing
        else:
            self.supported.pop(key, None)
