"""The child registry. Children are named only by id and code; personal fields are sealed."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRecorded, DuplicateSupport, InvalidInput
from domain.ids import as_id
from domain.meta import Meta

SEXES = ("female", "male", "other")
"""What a child's `sex` may be when registered (domain/inputs.py checks it). It is a personal
field, sealed with the others (privacy.PERSONAL_FIELDS), so no read model counts by it."""


class Child(Aggregate):
    """A registered child: a pseudonymous code and a place in clear, the personal fields sealed
    with the child's own key (privacy.PERSONAL_FIELDS), the support received in its events."""

    # A class default, not only set at registration: snapshots taken before erasure existed
    # restore a state without it.
    erased = False
    # Likewise for merges (issue 12): the kept record's id on a merged duplicate; on the kept
    # record, the ids of the duplicates it absorbed (their support counts as its own).
    merged_into: UUID | None = None
    absorbed: tuple[UUID, ...] = ()
    # 2: the ids in its state (support, merges) are UUIDs; snapshots of version 1 held text.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        if "supported" in state:
            state["supported"] = {k: [as_id(d) for d in ds] for k, ds in state["supported"].items()}
        if state.get("merged_into") is not None:
            state["merged_into"] = as_id(state["merged_into"])
        if "absorbed" in state:
            state["absorbed"] = tuple(as_id(d) for d in state["absorbed"])

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
        self.supported: dict[str, list[UUID]] = {}

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
        self.supported.setdefault(f"{season}|{category}", []).append(distribution_id)

    @event("SupportWithdrawn")
    def withdraw_support(self, *, distribution_id: UUID, season: str, category: str, meta: Meta) -> None:
        """A distribution that supported the child was reversed: that support no longer counts."""
        key = f"{season}|{category}"
        standing = [d for d in self.supported.get(key, []) if d != distribution_id]
        if standing:
            self.supported[key] = standing
        else:
            self.supported.pop(key, None)

    def check_mergeable(self) -> None:
        """Only a live record may be merged, or be merged into."""
        if self.erased:
            raise InvalidInput(f"child {self.code} was erased: it can't be merged")
        if self.merged_into is not None:
            raise AlreadyRecorded(f"child {self.code} was merged into another record already")

    @event("MergedInto")
    def merge_into(self, *, into: UUID, meta: Meta) -> None:
        """A second registration of the child `into`, merged into it; the reason is in the meta's note."""
        self.merged_into = into

    @event("Absorbed")
    def absorb(self, *, duplicate_id: UUID, supported: dict[str, list[UUID]], meta: Meta) -> None:
        """The duplicate's standing support ("season|category" → distributions) now counts as this child's."""
        self.absorbed = (*self.absorbed, duplicate_id)
        for key, distributions in supported.items():
            mine = self.supported.setdefault(key, [])
            mine.extend(d for d in map(as_id, distributions) if d not in mine)

    def correct(self, *, sealed: dict[str, str], meta: Meta) -> None:
        """Correct personal fields (checked and sealed by the ledger; the reason in the meta's
        note). Neither an erased record (its key is gone) nor a merged duplicate is corrected:
        the kept record is."""
        if self.erased:
            raise InvalidInput(f"child {self.code} was erased: nothing of them can be corrected")
        if self.merged_into is not None:
            raise InvalidInput(f"child {self.code} was merged into another record: correct that one")
        if not sealed:
            raise InvalidInput("nothing to correct: every field given is as recorded")
        self._correct(sealed=sealed, meta=meta)

    @event("Corrected")
    def _correct(self, *, sealed: dict[str, str], meta: Meta) -> None:
        """Some personal fields of the child were corrected: the new values, sealed with the child's key."""
        self.sealed = {**self.sealed, **sealed}

    def transfer(self, *, district: str, commune: str, meta: Meta) -> None:
        """Move a live record to the commune the child now lives in (the reason in the meta's
        note): support is given where a child lives, and the support received so far stays
        with the child, so the no-duplicate rule follows them."""
        if self.erased:
            raise InvalidInput(f"child {self.code} was erased: they can't be transferred")
        if self.merged_into is not None:
            raise InvalidInput(f"child {self.code} was merged into another record: transfer that one")
        if commune == self.commune:
            raise InvalidInput(f"child {self.code} is registered in commune {commune} already")
        self._transfer(district=district, commune=commune, meta=meta)

    @event("Transferred")
    def _transfer(self, *, district: str, commune: str, meta: Meta) -> None:
        """The child moved: registered from now on in this commune (and its district)."""
        self.district = district
        self.commune = commune

    def erase(self, *, meta: Meta) -> None:
        if self.erased:
            raise AlreadyRecorded(f"child {self.code} is already erased")
        self._erase(meta=meta)

    @event("Erased")
    def _erase(self, *, meta: Meta) -> None:
        """The child's key was deleted, its sealed fields shredded; the reason is in the meta's note."""
        self.erased = True


class ChildKeys(Protocol):
    """Each child's wrapped key and two keyed blind indexes of its personal fields, kept outside
    the log in one row: deleting a child's row shreds all three (an index could confirm a guess).
    `name_index` is of (folded full name, commune), `match_index` of (folded full name, birth
    year, commune)."""

    def store(self, child_id: UUID, wrapped_key: str, name_index: str, match_index: str) -> None: ...
    def load(self, child_id: UUID) -> str | None: ...
    def delete(self, child_id: UUID) -> bool: ...
    def named(self, name_index: str) -> list[UUID]: ...
    def matching(self, match_index: str) -> list[UUID]: ...
    def match_groups(self) -> dict[str, list[UUID]]: ...
    def reindex(self, child_id: UUID, name_index: str, match_index: str) -> bool: ...


class MemoryChildKeys:
    """ChildKeys for a ledger without a database (unit tests): one row per child, in memory."""

    def __init__(self) -> None:
        self.rows: dict[UUID, tuple[str, str, str]] = {}

    def store(self, child_id: UUID, wrapped_key: str, name_index: str, match_index: str) -> None:
        self.rows[child_id] = (wrapped_key, name_index, match_index)

    def load(self, child_id: UUID) -> str | None:
        row = self.rows.get(child_id)
        return row[0] if row else None

    def delete(self, child_id: UUID) -> bool:
        return self.rows.pop(child_id, None) is not None

    def named(self, name_index: str) -> list[UUID]:
        return sorted((c for c, (_, index, _) in self.rows.items() if index == name_index), key=str)

    def matching(self, match_index: str) -> list[UUID]:
        return sorted((c for c, (_, _, index) in self.rows.items() if index == match_index), key=str)

    def match_groups(self) -> dict[str, list[UUID]]:
        groups: dict[str, list[UUID]] = {}
        for child_id, (_, _, index) in self.rows.items():
            groups.setdefault(index, []).append(child_id)
        return {m: sorted(ids, key=str) for m, ids in groups.items() if len(ids) > 1}

    def reindex(self, child_id: UUID, name_index: str, match_index: str) -> bool:
        row = self.rows.get(child_id)
        if row is None:
            return False
        self.rows[child_id] = (row[0], name_index, match_index)
        return True
