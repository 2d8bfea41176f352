"""Bank accounts, the lines of their statements, and matches between lines and the ledger.

A statement line is evidence: each one is an event of its own aggregate, whose id is derived
from the account and the line's key, so the same bank line met again in an overlapping
statement is the same aggregate and cannot be imported twice. A line is matched to at most one
ledger entry, and a ledger entry to at most one line: the second half is a `Claim` on the
entry, taken in the same transaction as the match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.meta import Meta

_NAMESPACE = UUID("3d0b8f4e-7a43-4c59-9f0e-5c2b8a6d1e77")
MATCH_CLAIM = "bank-match"  # Claim kind: the value is the ledger entry's id
MATCH_KINDS = ("receipt", "distribution")
HOW = ("bank_txn_id", "reference", "payment_code", "confirmed", "created")
# The files a statement may come in, recorded by its import. A Literal, not only a tuple: the
# statement parsers (adapters.statements) are typed by it.
StatementFormat = Literal["csv", "xlsx", "camt053"]
STATEMENT_FORMATS: tuple[str, ...] = get_args(StatementFormat)


def bank_account_id(code: str) -> UUID:
    return uuid5(_NAMESPACE, f"account|{code}")


def bank_line_id(account_code: str, key: str) -> UUID:
    return uuid5(_NAMESPACE, f"line|{account_code}|{key}")


def statement_id(account_code: str, digest: str) -> UUID:
    """A statement is known by its account and the SHA-256 of its file: the same file twice is
    the same statement."""
    return uuid5(_NAMESPACE, f"statement|{account_code}|{digest}")


class BankAccount(Aggregate):
    @event("Registered")
    def __init__(self, *, id: UUID, code: str, bank: str, bank_bin: str | None, account_number: str,
                 fund: str, meta: Meta) -> None:
        """A fund's bank account was registered, so that its statements can be imported and reconciled."""
        # Its rules are BankBook.register_account's: stored history must load whatever they become.
        # The bank and its BIN are in the event, for the read model; the ledger needs only these.
        self.code = code
        self.account_number = account_number
        self.fund = fund


@dataclass(frozen=True, slots=True)
class LineInput:
    """One statement line as the ledger receives it (parsed and checked at the boundary)."""

    key: str
    booked_on: str  # YYYY-MM-DD
    amount_vnd: int  # > 0 money in, < 0 money out
    balance_vnd: int  # the account's balance after this line
    bank_txn_id: str | None
    counterparty: str
    counterparty_account: str | None
    description: str
    reversal: bool = False


class BankLine(Aggregate):
    @event("Imported")
    def __init__(self, *, id: UUID, account_code: str, statement_id: UUID, key: str, booked_on: str,
                 amount_vnd: int, balance_vnd: int, bank_txn_id: str | None, counterparty: str,
                 counterparty_account: str | None, description: str, reversal: bool,
                 meta: Meta) -> None:
        """One line of a bank statement was imported: evidence of money in or out, never imported twice."""
        # Checked by BankBook.check_line before the line is made (a constructor also replays).
        self.account_code = account_code
        self.booked_on = booked_on
        self.amount_vnd = amount_vnd
        self.bank_txn_id = bank_txn_id
        self.counterparty = counterparty
        self.description = description
        self.match_id: UUID | None = None
        self.target_id: UUID | None = None

    def match(self, *, match_id: UUID, target_id: UUID, kind: str, how: str, meta: Meta) -> None:
        if self.match_id is not None:
            raise InvalidInput(f"bank line {self.id} is already matched to {self.target_id}")
        if kind not in MATCH_KINDS or how not in HOW:
            raise InvalidInput(f"unknown match kind {kind!r} or way {how!r}")
        if (kind == "receipt") != (self.amount_vnd > 0):
            raise InvalidInput("money in matches receipts; money out matches distributions")
        self._match(match_id=match_id, target_id=target_id, kind=kind, how=how, meta=meta)

    @event("Matched")
    def _match(self, *, match_id: UUID, target_id: UUID, kind: str, how: str, meta: Meta) -> None:
        """The bank line was matched to one ledger entry (money in to a receipt, out to a distribution)."""
        self.match_id = match_id
        self.target_id = target_id

    def unmatch(self, *, match_id: UUID, reason: str, meta: Meta) -> None:
        if self.match_id != match_id:
            raise InvalidInput(f"match {match_id} is not this line's current match")
        self._unmatch(match_id=match_id, target_id=self.target_id, reason=reason, meta=meta)

    @event("Unmatched")
    def _unmatch(self, *, match_id: UUID, target_id: UUID | None, reason: str, meta: Meta) -> None:
        """The line's match was undone (for the reason given): line and entry may be matched anew."""
        self.match_id = None
        self.target_id = None


class BankStatement(Aggregate):
    """The import of one statement file: what it claimed, and how many of its lines were new."""

    @event("Imported")
    def __init__(self, *, id: UUID, account_code: str, format: str, sha256: str,
                 period_from: str | None, period_to: str | None, opening_balance_vnd: int,
                 closing_balance_vnd: int, lines: int, new_lines: int, matched: int,
                 meta: Meta) -> None:
        """A statement file was imported: its period and balances, and how many of its lines were new."""
        # Only its existence matters to the ledger (the same file is the same statement); what it
        # held is in the event, for the read model and auditors.
        self.account_code = account_code


@dataclass(frozen=True, slots=True)
class EntryRef:
    """A ledger entry as the read model knows it, for matching."""

    id: UUID
    amount_vnd: int
    reference: str | None
    bank_txn_id: str | None
    matched: bool  # matched to a line now
    claimed_before: bool  # matched once and unmatched since: its claim exists, released
