"""Bank commands: register accounts, import statements and match their lines to the ledger.

Matching a credit line, surest first (a transfer text is a hint, never proof of who paid):
1. its bank transaction id is a receipt's `bank_txn_id`, with the same amount;
2. its text names exactly one receipt by reference (`PT-2021-000123`), with the same amount;
3. its text carries exactly one pledge's payment code: the money is that pledge's donor's, and
   becomes a receipt for the pledge, matched to the line.
Only these are recorded on import. Anything weaker (amount, dates, a name in the text) is a
suggestion that a person confirms (`match`), and an unmatched credit can become a receipt in one
step (`receipt_from_line`). Debit lines are matched by a person, to distributions.

Read models find candidates fast; the log decides. A stale candidate costs a retry of one chunk
(the claims and line ids conflict in the store), never a line imported or matched twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.bank import (
    MATCH_CLAIM,
    STATEMENT_FORMATS,
    BankAccount,
    BankLine,
    BankStatement,
    EntryRef,
    LineInput,
    bank_account_id,
    bank_line_id,
    foreign_to_vnd,
    is_currency,
    statement_id,
)
from domain.claims import Claim, claim_id
from domain.dates import DateWindow, check_optional_date, parse_iso_date
from domain.distributions import Distribution
from domain.donors import Donor, Pledge
from domain.errors import AlreadyRecorded, InvalidInput, NotFound, SeasonClosed
from domain.inputs import check_note
from domain.matching import find_payment_codes, find_receipt_references
from domain.meta import Context
from domain.money import check_fund
from domain.receipts import Receipt
from domain.text import MAX_CODE, MAX_NAME, MAX_NOTE, MAX_TEXT, check_optional, check_text, fold, nfc
from ledger.answers import AccountRegistered, Matched, StatementRecorded
from ledger.application import Ledger
from ledger.command_reads import CommandReads
from ledger.command_runner import Step

MAX_KEY = 100  # "txn:" + a bank transaction id, or "h:" + a SHA-256 in hex
CHUNK_LINES = 2000  # lines per transaction: big enough to be fast, small enough to retry
RETRY_FOR_S = 30.0  # a chunk of 2,000 lines takes long to redo: give it longer than a command


class BankIndex(Protocol):
    """Look-ups in the read models. Each answer may lag the log a little; the log decides."""

    def known_lines(self, line_ids: Collection[UUID]) -> set[UUID]: ...

    def receipts(self, fund: str, *, bank_txn_ids: Collection[str],
                 references: Collection[str]) -> list[EntryRef]: ...

    def pledges_by_code(self, codes: Collection[str]) -> dict[str, list[UUID]]: ...

    def donors_named(self, folded_name: str) -> list[UUID]: ...

    def line_of_match(self, match_id: UUID) -> UUID | None: ...


@dataclass(frozen=True, slots=True)
class StatementInput:
    account_code: str
    format: str
    sha256: str
    period_from: str | None
    period_to: str | None
    opening_balance_vnd: int
    closing_balance_vnd: int
    lines: Sequence[LineInput]
    # A foreign account's statement: its currency and balances in minor units (the _vnd ones 0).
    currency: str = "VND"
    opening_balance: int | None = None
    closing_balance: int | None = None


class ImportPlan:
    """What one import will do, worked out before anything is written."""

    def __init__(self, receipts: Iterable[EntryRef], pledges: dict[str, list[UUID]]) -> None:
        self.by_txn: dict[str, EntryRef] = {}
        self.by_reference: dict[str, EntryRef] = {}
        for r in receipts:
            if r.bank_txn_id:
                self.by_txn[r.bank_txn_id] = r
            if r.reference:
                self.by_reference[r.reference] = r
        self.pledges = pledges
        self.taken: set[UUID] = set()  # entries matched by earlier lines of this import

    def receipt_for(self, line: LineInput) -> tuple[EntryRef, str] | None:
        """The receipt a credit line surely is, and how we know; None if not sure."""
        if line.amount_vnd <= 0 or line.reversal:
            return None
        if line.bank_txn_id and (r := self.by_txn.get(line.bank_txn_id)) is not None:
            return (r, "bank_txn_id") if self._free(r, line) else None
        named = [r for ref in find_receipt_references(line.description)
                 if (r := self.by_reference.get(ref)) is not None]
        if len(named) == 1 and self._free(named[0], line):
            return named[0], "reference"
        return None

    def pledge_for(self, line: LineInput) -> UUID | None:
        if line.amount_vnd <= 0 or line.reversal:
            return None
        if line.bank_txn_id and line.bank_txn_id in self.by_txn:
            return None  # its transaction is some receipt's already, with another amount
        pledges = {p for code in find_payment_codes(line.description) for p in self.pledges.get(code, ())}
        return pledges.pop() if len(pledges) == 1 else None

    def _free(self, r: EntryRef, line: LineInput) -> bool:
        return r.amount_vnd == line.amount_vnd and not r.matched and r.id not in self.taken


class BankBook:
    def __init__(self, ledger: Ledger, index: BankIndex) -> None:
        self.ledger = ledger
        self.index = index

    # ---- accounts --------------------------------------------------------------------------

    def register_account(self, ctx: Context, request_hash: str, *, code: str, bank: str,
                         bank_bin: str | None, account_number: str, fund: str,
                         currency: str = "VND") -> AccountRegistered:
        check_fund(fund)
        if not is_currency(currency):
            raise InvalidInput("currency must be an ISO 4217 code of three capital letters (VND, USD …)")
        code = check_text(code, "code", max_length=40, required=True)
        account_number = "".join(check_text(account_number, "account_number", max_length=34).split())
        bank = check_text(bank, "bank", max_length=MAX_NAME, required=True)
        bank_bin = check_optional(bank_bin, "bank_bin", max_length=MAX_NAME)
        if not account_number.isascii() or not account_number.isalnum():
            raise InvalidInput("a bank account needs a code (1-40 characters) and an account number"
                               " of letters and digits")

        def build() -> tuple[list[Aggregate], AccountRegistered]:
            account_id = bank_account_id(code)
            if self.ledger.find_or_none(account_id, BankAccount) is not None:
                raise AlreadyRecorded(f"bank account {code!r} is already registered")
            account = BankAccount(id=account_id, code=code, bank=bank, bank_bin=bank_bin,
                                  account_number=account_number, fund=fund, meta=ctx.meta(),
                                  currency=currency)
            return [account], {"id": str(account_id), "code": code}

        return self.ledger.commands.run(ctx, request_hash, build)

    def account(self, code: str) -> BankAccount:
        return self.ledger.require(bank_account_id(code), BankAccount, "bank account")

    # ---- statements ------------------------------------------------------------------------

    def import_statement(self, ctx: Context, request_hash: str, statement: StatementInput,
                         progress: Callable[[int], None] | None = None) -> StatementRecorded:
        """Record the statement's new lines and the matches that are sure, in chunks of lines.

        Each chunk is one transaction (a step of the command runner); the statement itself is
        recorded with the last one. If the import is interrupted, importing the same file again
        records the rest, as every line already recorded is known by its id."""
        statement = check_statement(statement, self.ledger.dates)
        account = self.account(statement.account_code)
        if statement.currency != account.currency or any(
                line.currency != account.currency for line in statement.lines):
            raise InvalidInput(f"the statement is in {statement.currency}; account {account.code} is"
                               f" kept in {account.currency}")
        sid = statement_id(account.code, statement.sha256)
        ids = [bank_line_id(account.code, line.key) for line in statement.lines]
        if len(set(ids)) != len(ids):
            raise InvalidInput("two lines of the statement have the same key")

        def imported_before() -> StatementRecorded | None:
            if self.ledger.find_or_none(sid, BankStatement) is None:
                return None
            return {"statement_id": str(sid), "lines": len(statement.lines), "new_lines": 0,
                    "matched_now": 0, "position": self.ledger.position_of(sid)}

        return self.ledger.commands.run_steps(
            ctx, request_hash, self._steps(ctx, account, sid, statement, ids, progress),
            serialise_on=(f"bank-account:{account.code}",), done_before=imported_before,
            retry_for_s=RETRY_FOR_S, busy="the bank account is too busy; import the statement again")

    def _steps(self, ctx: Context, account: BankAccount, sid: UUID, statement: StatementInput,
               ids: list[UUID],
               progress: Callable[[int], None] | None) -> Iterator[Step[StatementRecorded]]:
        """The import's transactions, made one by one as the runner asks for them (so the read
        models are asked only once the account's lock is held)."""
        known = self.index.known_lines(ids)
        fresh = [(i, line) for i, line in zip(ids, statement.lines, strict=True) if i not in known]
        credits = [line for _, line in fresh if line.amount_vnd > 0]
        plan = ImportPlan(
            self.index.receipts(
                account.fund, bank_txn_ids={c.bank_txn_id for c in credits if c.bank_txn_id},
                references={r for c in credits for r in find_receipt_references(c.description)}),
            self.index.pledges_by_code({p for c in credits for p in find_payment_codes(c.description)}))
        new_lines = matched = 0
        chunks = [fresh[i:i + CHUNK_LINES] for i in range(0, len(fresh), CHUNK_LINES)] or [[]]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            taken = set(plan.taken)
            counted = [0, 0]

            def step(retrying: bool, chunk: list[tuple[UUID, LineInput]] = chunk, last: bool = last,
                     taken: set[UUID] = taken, counted: list[int] = counted,
                     so_far: tuple[int, int] = (new_lines, matched),
                     ) -> tuple[list[Aggregate], StatementRecorded | None]:
                plan.taken = set(taken)  # a retried chunk starts from what was taken before it
                # After a conflict, someone recorded one of these lines or matched one of these
                # entries since the read models said otherwise: the chunk asks the log about each.
                aggregates, added, sure = self._chunk(ctx, account, sid, chunk, plan, retrying)
                counted[:] = [added, sure]
                if not last:
                    return aggregates, None
                answer: StatementRecorded = {
                    "statement_id": str(sid), "lines": len(statement.lines),
                    "new_lines": so_far[0] + added, "matched_now": so_far[1] + sure}
                # The same file, imported at the same moment elsewhere, may have been recorded
                # first: then it is that import's statement, and ours adds lines only.
                if not retrying or self.ledger.find_or_none(sid, BankStatement) is None:
                    aggregates.append(BankStatement(
                        id=sid, account_code=account.code, format=statement.format,
                        sha256=statement.sha256, period_from=statement.period_from,
                        period_to=statement.period_to,
                        opening_balance_vnd=statement.opening_balance_vnd,
                        closing_balance_vnd=statement.closing_balance_vnd,
                        lines=len(statement.lines), new_lines=answer["new_lines"],
                        matched=answer["matched_now"], meta=ctx.meta(), **_foreign_statement(statement)))
                return aggregates, answer

            yield step
            new_lines += counted[0]
            matched += counted[1]
            if progress:
                progress(len(chunk))

    def _chunk(self, ctx: Context, account: BankAccount, sid: UUID,
               chunk: Sequence[tuple[UUID, LineInput]], plan: ImportPlan,
               careful: bool) -> tuple[list[Aggregate], int, int]:
        aggregates: list[Aggregate] = []
        added = sure = 0
        reads = self.ledger.command_reads()  # the chunk is one command: each pledge, donor once
        for line_id, line in chunk:
            if careful and self.ledger.find_or_none(line_id, BankLine) is not None:
                continue
            bank_line = BankLine(
                id=line_id, account_code=account.code, statement_id=sid, key=line.key,
                booked_on=line.booked_on, amount_vnd=line.amount_vnd, balance_vnd=line.balance_vnd,
                bank_txn_id=line.bank_txn_id, counterparty=line.counterparty,
                counterparty_account=line.counterparty_account, description=line.description,
                reversal=line.reversal, meta=ctx.meta(), **_foreign_line(line))
            aggregates.append(bank_line)
            added += 1
            found = plan.receipt_for(line)
            if found is not None:
                entry, how = found
                claim = self._claim(ctx, entry.id, line_id, entry.claimed_before or careful)
                if claim is not None:
                    bank_line.match(match_id=uuid4(), target_id=entry.id, kind="receipt", how=how,
                                    meta=ctx.meta())
                    aggregates.append(claim)
                    plan.taken.add(entry.id)
                    sure += 1
            elif (pledge_id := plan.pledge_for(line)) is not None:
                created = self._receipt_for_pledge(ctx, account, line, pledge_id, reads)
                if created:
                    receipt = created[0]
                    bank_line.match(match_id=uuid4(), target_id=receipt.id, kind="receipt",
                                    how="payment_code", meta=ctx.meta())
                    claim = Claim(id=claim_id(MATCH_CLAIM, str(receipt.id)), kind=MATCH_CLAIM,
                                  value=str(receipt.id), owner_id=line_id, meta=ctx.meta())
                    # The receipt goes into the log before the line's match that names it: a
                    # projection batch may end between the two, and the match must find its entry.
                    aggregates[-1:-1] = created
                    aggregates.append(claim)
                    sure += 1
        return aggregates, added, sure

    def _claim(self, ctx: Context, target_id: UUID, line_id: UUID, look: bool) -> Claim | None:
        """The claim that makes `line_id` the one line matched to `target_id`; None if taken."""
        claimed = claim_id(MATCH_CLAIM, str(target_id))
        claim = self.ledger.find_or_none(claimed, Claim) if look else None
        if claim is None:
            return Claim(id=claimed, kind=MATCH_CLAIM, value=str(target_id), owner_id=line_id,
                         meta=ctx.meta())
        if claim.owner_id is not None:
            return None
        claim.reclaim(owner_id=line_id, meta=ctx.meta())
        return claim

    def _receipt_for_pledge(self, ctx: Context, account: BankAccount, line: LineInput,
                            pledge_id: UUID, reads: CommandReads) -> list[Aggregate]:
        pledge = self.ledger.find_or_none(pledge_id, Pledge, reads)
        if pledge is None or pledge.cancelled or pledge.goods is not None:
            return []
        try:
            return self.ledger.new_receipt(
                ctx, donor_id=pledge.donor_id, fund=account.fund, received_on=line.booked_on,
                channel="bank", amount_vnd=line.amount_vnd, goods=None,
                restriction=pledge.restriction, pledge_id=pledge_id, bank_txn_id=line.bank_txn_id,
                mobilised_by=pledge.mobilised_by, note=_note(line), reads=reads)
        except (AlreadyRecorded, SeasonClosed):
            # Left unmatched for staff (a line dated in a closed season needs an admin's reason).
            return []

    # ---- matches ---------------------------------------------------------------------------

    def match(self, ctx: Context, request_hash: str, *, bank_line_id: UUID, target_id: UUID) -> Matched:
        """A person confirms that a line is a ledger entry (a suggestion, or their own find)."""

        def build() -> tuple[list[Aggregate], Matched]:
            line = self.ledger.require(bank_line_id, BankLine, "bank line")
            account = self.account(line.account_code)
            if not line.amount_vnd:
                raise InvalidInput(f"the line is in {line.currency} with no rate: record its rate"
                                   " (create_receipt with rate and rate_source)")
            target = self.ledger.find_or_none(target_id, Aggregate)
            if isinstance(target, Receipt):
                kind, amount = "receipt", target.amount_vnd
                if target.fund != account.fund:
                    raise InvalidInput(f"the receipt is in fund {target.fund}; the account holds"
                                       f" fund {account.fund}")
            elif isinstance(target, Distribution):
                kind, amount = "distribution", -target.total_vnd
            else:
                raise NotFound(f"no receipt or distribution with id {target_id}")
            if target.reversed:
                raise InvalidInput(f"{kind} {target_id} was reversed")
            if amount != line.amount_vnd:
                raise InvalidInput(f"the line moves {line.amount_vnd} đồng, the {kind} {amount}")
            claim = self._claim(ctx, target_id, bank_line_id, look=True)
            if claim is None:
                raise AlreadyRecorded(f"{kind} {target_id} is already matched to another line")
            match_id = uuid4()
            line.match(match_id=match_id, target_id=target_id, kind=kind, how="confirmed",
                       meta=ctx.meta())
            return [line, claim], {"id": str(match_id), "bank_line_id": str(bank_line_id),
                                   "target_id": str(target_id), "kind": kind}

        return self.ledger.commands.run(ctx, request_hash, build, serialise_on=(f"bank-line:{bank_line_id}",))

    def receipt_from_line(self, ctx: Context, request_hash: str, *, bank_line_id: UUID,
                          donor_id: UUID | None = None, restriction: dict[str, Any] | None = None,
                          note: str | None = None, rate: str | None = None,
                          rate_source: str | None = None) -> Matched:
        """Turn an unmatched credit into a receipt, matched to it. The donor is the one given,
        else the one registered under the counterparty's name, else a new donor of that name.
        A foreign line the bank gave no rate for takes `rate` (đồng per unit) and `rate_source`
        (where the officer took it from), recorded on the line before the receipt is made."""
        checked = self.ledger.check_restriction(restriction)
        note = check_note(note)
        if (rate is None) != (rate_source is None):
            raise InvalidInput("give a rate with its source (rate_source), or neither")
        if rate is not None:
            check_rate(rate)
            rate_source = check_text(rate_source, "rate_source", max_length=MAX_TEXT, required=True)

        def build() -> tuple[list[Aggregate], Matched]:
            line = self.ledger.require(bank_line_id, BankLine, "bank line")
            if line.signed <= 0:
                raise InvalidInput("only money in can become a receipt")
            if line.match_id is not None:
                raise InvalidInput(f"bank line {bank_line_id} is already matched")
            account = self.account(line.account_code)
            if rate is not None and rate_source is not None and line.amount is not None:
                line.record_rate(rate=rate, rate_source=rate_source, meta=ctx.meta(),
                                 amount_vnd=foreign_to_vnd(line.amount, line.currency, Decimal(rate)))
            elif rate is not None:
                raise InvalidInput("only a foreign line without the bank's rate takes a rate")
            elif not line.amount_vnd:
                raise InvalidInput(f"the line is in {line.currency} and the bank gave no rate: give"
                                   " rate and rate_source")
            aggregates: list[Aggregate] = []
            donor, new_donor = donor_id, None
            reads = self.ledger.command_reads()
            if donor is not None:
                self.ledger.require(donor, Donor, "donor", reads)
            else:
                named = self.index.donors_named(fold(line.counterparty)) if line.counterparty else []
                if len(named) == 1:
                    donor = named[0]
                else:
                    # A bank customer never chose to be named in public: "Ẩn danh" until
                    # staff record the donor's own choice (a correction).
                    new_donor = self.ledger.new_donor(
                        ctx, name=nfc(line.counterparty) or "Không rõ",
                        kind=_donor_kind(line.counterparty), public_name=None,
                        anonymous=True, contact=None)
                    aggregates.append(new_donor)
                    donor = new_donor.id
            created = self.ledger.new_receipt(
                ctx, donor_id=donor, fund=account.fund, received_on=line.booked_on, channel="bank",
                amount_vnd=line.amount_vnd, goods=None, restriction=checked, pledge_id=None,
                bank_txn_id=line.bank_txn_id, mobilised_by=None, note=note or _note(line),
                new_donor=new_donor, reads=reads)
            receipt = created[0]
            match_id = uuid4()
            line.match(match_id=match_id, target_id=receipt.id, kind="receipt", how="created",
                       meta=ctx.meta())
            claim = Claim(id=claim_id(MATCH_CLAIM, str(receipt.id)), kind=MATCH_CLAIM,
                          value=str(receipt.id), owner_id=bank_line_id, meta=ctx.meta())
            return [*aggregates, *created, line, claim], {
                "id": str(match_id), "bank_line_id": str(bank_line_id), "target_id": str(receipt.id),
                "kind": "receipt", "donor_id": str(donor)}

        return self.ledger.commands.run(ctx, request_hash, build, serialise_on=(f"bank-line:{bank_line_id}",))

    def undo(self, ctx: Context, request_hash: str, *, match_id: UUID, reason: str) -> Matched:
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        line_id = self.index.line_of_match(match_id)
        if line_id is None:
            raise NotFound(f"no match with id {match_id}")

        def build() -> tuple[list[Aggregate], Matched]:
            line = self.ledger.require(line_id, BankLine, "bank line")
            target = line.target_id
            line.unmatch(match_id=match_id, reason=reason, meta=ctx.meta(reason))
            claim = self.ledger.require(claim_id(MATCH_CLAIM, str(target)), Claim, "match claim")
            claim.release(meta=ctx.meta(reason))
            return [line, claim], {"id": str(match_id), "bank_line_id": str(line_id),
                                   "target_id": str(target)}

        return self.ledger.commands.run(ctx, request_hash, build, serialise_on=(f"bank-line:{line_id}",))


def check_line(line: LineInput, where: str, dates: DateWindow) -> LineInput:
    """One statement line as it may be recorded; `where` names it in the message."""
    return _check_line(line, where, dates.first.isoformat(), dates.last.isoformat())


def _check_line(line: LineInput, where: str, first: str, last: str) -> LineInput:
    try:
        foreign = _check_foreign(line)
        if not _whole(line.amount_vnd) or not (line.amount_vnd or foreign):
            raise InvalidInput("a statement line moves money: its amount is a whole, non-zero number")
        if not _whole(line.balance_vnd):
            raise InvalidInput("balance_vnd must be a whole number")
        booked_on = parse_iso_date(line.booked_on, "booked_on").isoformat()
        if not first <= booked_on <= last:  # ISO dates compare as text
            raise InvalidInput(f"booked_on must be between {first} and {last}")
        return LineInput(
            key=check_text(line.key, "key", max_length=MAX_KEY, required=True),
            booked_on=booked_on, amount_vnd=line.amount_vnd, balance_vnd=line.balance_vnd,
            bank_txn_id=check_optional(line.bank_txn_id, "bank_txn_id", max_length=MAX_CODE),
            counterparty=check_text(line.counterparty, "counterparty", max_length=MAX_TEXT),
            counterparty_account=check_optional(line.counterparty_account, "counterparty_account",
                                                max_length=MAX_CODE),
            description=check_text(line.description, "description", max_length=MAX_NOTE),
            reversal=bool(line.reversal), currency=line.currency, amount=line.amount,
            balance=line.balance, rate=line.rate)
    except InvalidInput as e:
        raise InvalidInput(f"{where}: {e.detail}") from None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_foreign(line: LineInput) -> bool:
    """A foreign line's own fields; True if it is one. Its đồng value, when it has one, is its
    amount at its rate (the bank's), with the amount's sign."""
    if line.currency == "VND":
        if (line.amount, line.balance, line.rate) != (None, None, None):
            raise InvalidInput("a VND line has no foreign amount, balance or rate")
        return False
    if not is_currency(line.currency):
        raise InvalidInput("currency must be an ISO 4217 code")
    if not _whole(line.amount) or not line.amount or not _whole(line.balance):
        raise InvalidInput("a foreign line's amount (non-zero) and balance are whole minor units")
    assert isinstance(line.amount, int)
    if line.rate is None:
        if line.amount_vnd:
            raise InvalidInput("a foreign line without a rate has no đồng value yet")
    elif check_rate(line.rate) and line.amount_vnd != foreign_to_vnd(
            line.amount, line.currency, Decimal(line.rate)):
        raise InvalidInput("a foreign line's đồng value is its amount at its rate")
    return True


def check_rate(rate: object) -> bool:
    """A rate in đồng per unit: a positive decimal, written plainly (`23050.5`)."""
    if not isinstance(rate, str) or len(rate) > 30:
        raise InvalidInput("rate must be a decimal number of đồng per unit, as text")
    try:
        value = Decimal(rate)
    except ArithmeticError:
        raise InvalidInput("rate must be a decimal number of đồng per unit") from None
    if not value.is_finite() or value <= 0 or rate != format(value, "f"):
        raise InvalidInput("rate must be a positive decimal number of đồng per unit, written plainly")
    return True


def check_statement(statement: StatementInput, dates: DateWindow) -> StatementInput:
    """Every field of a statement as it may be recorded: the import command's own check, whatever
    parser (or caller) made the statement."""
    if statement.format not in STATEMENT_FORMATS:
        raise InvalidInput(f"unknown statement format; expected one of {list(STATEMENT_FORMATS)}")
    if not isinstance(statement.sha256, str) or len(statement.sha256) != 64 or not all(
            c in "0123456789abcdef" for c in statement.sha256):
        raise InvalidInput("sha256 must be the file's SHA-256 in lower-case hex")
    for balance in (statement.opening_balance_vnd, statement.closing_balance_vnd):
        if isinstance(balance, bool) or not isinstance(balance, int):
            raise InvalidInput("a statement's balances are whole numbers of đồng")
    if not is_currency(statement.currency):
        raise InvalidInput("currency must be an ISO 4217 code")
    foreign = (statement.opening_balance, statement.closing_balance)
    if (statement.currency != "VND") != all(_whole(b) for b in foreign) or (
            statement.currency == "VND" and foreign != (None, None)):
        raise InvalidInput("a foreign statement's balances, and only theirs, are in its currency")
    first, last = dates.first.isoformat(), dates.last.isoformat()
    return StatementInput(
        account_code=check_text(statement.account_code, "account", max_length=40, required=True),
        format=statement.format, sha256=statement.sha256,
        period_from=check_optional_date(statement.period_from, "period_from", dates),
        period_to=check_optional_date(statement.period_to, "period_to", dates),
        opening_balance_vnd=statement.opening_balance_vnd,
        closing_balance_vnd=statement.closing_balance_vnd,
        lines=tuple(_check_line(line, f"line {n}", first, last)
                    for n, line in enumerate(statement.lines, 1)),
        currency=statement.currency, opening_balance=statement.opening_balance,
        closing_balance=statement.closing_balance)


# The event library needs every keyword given when an aggregate is made (its defaults serve only
# events stored before the fields existed, when they are replayed).
def _foreign_line(line: LineInput) -> dict[str, Any]:
    return {"currency": line.currency, "amount": line.amount, "balance": line.balance, "rate": line.rate}


def _foreign_statement(statement: StatementInput) -> dict[str, Any]:
    return {"currency": statement.currency, "opening_balance": statement.opening_balance,
            "closing_balance": statement.closing_balance}


def _note(line: LineInput | BankLine) -> str | None:
    return line.description or None

_BUSINESS_WORDS = ("cong ty", "cty", "tnhh", "co phan", "doanh nghiep", "ngan hang")
_ORGANISATION_WORDS = ("hoi ", "quy ", "uy ban", "ubnd", "truong", "doan ", "mat tran", "hiep hoi")


def _donor_kind(name: str) -> str:
    folded = fold(name)
    if any(w in folded for w in _BUSINESS_WORDS):
        return "business"
    if any(folded.startswith(w) or f" {w}" in folded for w in _ORGANISATION_WORDS):
        return "organisation"
    return "individual"
