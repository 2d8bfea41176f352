"""What each command answers: one typed shape per command, the same whether it ran or was
replayed from its Idempotency-Key's record.

The runner adds `position` (the log position of the command's last event, or of the record on
a replay). A record stores the answer with `ANSWER_VERSION`, so that a later release that changes
a shape can still read, and convert, what an earlier one stored (records older than versions
are version 0, the same shapes as version 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

ANSWER_VERSION = 1

# The loose form the runner passes around; each command's own TypedDict below is what its
# method returns.
Answer = dict[str, Any]


class Created(TypedDict):
    """A donor, pledge, need, erasure: the id of what was made."""

    id: str
    position: NotRequired[int]


class AccountRegistered(Created):
    code: str


class ReceiptRecorded(Created):
    # `received_on` is kept in the record; the answer names the voucher instead, made from the
    # receipt's position once it is known.
    received_on: NotRequired[str]
    reference: NotRequired[str]


class Allocated(Created):
    amount_vnd: int
    drawn_from: list[dict[str, Any]]


class Distributed(Created):
    total_vnd: int
    overrides: int


class Reversed(Created):
    target_id: str


class Proposed(Created):
    """An allocation or reversal above the four-eyes amount, recorded as a proposal: `id` is the
    proposal's (as `proposal_id`); nothing took effect yet."""

    proposal_id: str
    status: str  # "proposed"
    kind: str  # allocation, reversal
    amount_vnd: int


class Decided(Created):
    """A proposal approved (`id`: the allocation or reversal it made, with that command's own
    fields) or rejected (`id`: the proposal's)."""

    proposal_id: str
    status: str  # approved, rejected
    kind: str
    amount_vnd: NotRequired[int]
    drawn_from: NotRequired[list[dict[str, Any]]]
    target_id: NotRequired[str]


class ChildRegistered(Created):
    code: str
    # Live records of the same folded name, birth year and commune: a warning, not a refusal.
    # Records stored before the warning existed have none.
    possible_duplicates: NotRequired[list[str]]


class Matched(Created):
    bank_line_id: str
    target_id: str
    kind: NotRequired[str]
    donor_id: NotRequired[str]


class StatementRecorded(TypedDict):
    statement_id: str
    lines: int
    new_lines: int
    matched_now: int
    position: NotRequired[int]


def answer_draw(draw: Mapping[str, Any]) -> dict[str, Any]:
    """A draw as an answer shows it: answers are stored in Idempotency-Key records and replayed
    as they were, so their ids are text, as the HTTP answer's JSON has them."""
    return {**draw, "receipt_id": str(draw["receipt_id"])}
