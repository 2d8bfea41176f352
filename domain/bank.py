"""Bank accounts, the lines of their statements, and matches between lines and the ledger.

A statement line is evidence: each one is an event of its own aggregate, whose id is derived
from the account and the line's key, so the same bank line met again in an overlapping
statement is the same aggregate and cannot be imported twice. A line is matched to at most one
ledger entry, and a ledger entry to at most one line: the second half is a `Claim` on the
entry, taken in the same transaction as the match.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
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
# How each statement of an imported file stands: recorded into its account, or left out because
# no registered account has its number.
STATEMENT_STATUSES = ("imported", "account_not_registered")
StatementFormat = Literal["csv", "xlsx", "camt053"]
STATEMENT_FORMATS: tuple[str, ...] = get_args(StatementFormat)


# ISO 4217 currencies whose smallest unit is not the hundredth (VND has no subunit in use).
_DIGITS = {"VND": 0, "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
           "KMF": 0, "RWF": 0, "VUV": 0, "XPF": 0, "DJF": 0, "GNF": 0,
           "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3}


def is_currency(code: object) -> bool:
    """An ISO 4217 alphabetic code: three capital letters."""
    return isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


def minor_digits(currency: str) -> int:
    """How many decimals the currency's amounts have: amounts are kept as whole minor units."""
    return _DIGITS.get(currency, 2)


def foreign_to_vnd(amount_minor: int, currency: str, dong_per_unit: Decimal) -> int:
    """A foreign amount (in its minor units) in whole đồng at a rate in đồng per unit, rounded half
    to even, so that the same amount and rate always give the same đồng."""
    value = Decimal(amount_minor).scaleb(-minor_digits(currency)) * dong_per_unit
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


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
                 fund: str, meta: Meta, currency: str = "VND") -> None:
        """A fund's bank account was registered, so that its statements can be imported and reconciled;
        `currency` is what the account is kept in (ISO 4217; VND unless said)."""
        # Its rules are BankBook.register_account's: stored history must load whatever they become.
        # The bank and its BIN are in the event, for the read model; the ledger needs only these.
        # Accounts registered before currencies were read carry none: they are VND.
        self.code = code
        self.account_number = account_number
        self.fund = fund
        self.currency = currency


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
    # A foreign account's line: its amount and running balance in minor units of `currency`, and
    # the bank's rate (đồng per unit) when the file gives one. `amount_vnd` is then its đồng value
    # at that rate, or 0 until an officer records a rate; `balance_vnd` is 0.
    currency: str = "VND"
    amount: int | None = None
    balance: int | None = None
    rate: str | None = None


class BankLine(Aggregate):
    @event("Imported")
    def __init__(self, *, id: UUID, account_code: str, statement_id: UUID, key: str, booked_on: str,
                 amount_vnd: int, balance_vnd: int, bank_txn_id: str | None, counterparty: str,
                 counterparty_account: str | None, description: str, reversal: bool,
                 meta: Meta, currency: str = "VND", amount: int | None = None,
                 balance: int | None = None, rate: str | None = None) -> None:
        """One line of a bank statement was imported: evidence of money in or out, never imported twice;
        a foreign account's line also gives `currency`, its `amount` and `balance` in that currency's
        minor units and the bank's `rate` (đồng per unit, or none: `amount_vnd` is then 0 until a rate
        is recorded)."""
        # Checked by BankBook.check_line before the line is made (a constructor also replays).
        self.account_code = account_code
        self.booked_on = booked_on
        self.amount_vnd = amount_vnd
        self.currency = currency
        self.amount = amount
        self.rate = rate
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
        if (kind == "receipt") != (self.signed > 0):
            raise InvalidInput("money in matches receipts; money out matches distributions")
        if not self.amount_vnd:
            raise InvalidInput(f"the line is in {self.currency} with no rate: record its rate first")
        self._match(match_id=match_id, target_id=target_id, kind=kind, how=how, meta=meta)

    @event("Matched")
    def _match(self, *, match_id: UUID, target_id: UUID, kind: str, how: str, meta: Meta) -> None:
        """The bank line was matched to one ledger entry (money in to a receipt, out to a distribution)."""
        self.match_id = match_id
        self.target_id = target_id

    @property
    def signed(self) -> int:
        """Its amount in the account's currency: > 0 money in, < 0 money out."""
        return self.amount if self.amount is not None else self.amount_vnd

    def record_rate(self, *, rate: str, rate_source: str, amount_vnd: int, meta: Meta) -> None:
        if self.amount is None or self.amount_vnd:
            raise InvalidInput("only a foreign line without the bank's rate takes a rate")
        if self.match_id is not None:
            raise InvalidInput(f"bank line {self.id} is already matched")
        if not amount_vnd or (amount_vnd > 0) != (self.amount > 0):
            raise InvalidInput("the rate gives the line no đồng value")
        self._rate(rate=rate, rate_source=rate_source, amount_vnd=amount_vnd, meta=meta)

    @event("Rated")
    def _rate(self, *, rate: str, rate_source: str, amount_vnd: int, meta: Meta) -> None:
        """An officer recorded the rate (đồng per unit of the line's currency) of a foreign line the bank
        gave none for, with its source; `amount_vnd` is the line's đồng value at that rate."""
        self.rate = rate
        self.amount_vnd = amount_vnd

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
                 meta: Meta, currency: str = "VND", opening_balance: int | None = None,
                 closing_balance: int | None = None) -> None:
        """A statement file was imported: its period and balances, and how many of its lines were new;
        a foreign account's statement gives its `currency` and its balances in that currency's minor
        units (the `_vnd` balances are then 0)."""
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
