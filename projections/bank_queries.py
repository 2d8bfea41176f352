"""Reads over the bank read models: candidates for the ledger's matching, suggestions for a
person to confirm, and the reconciliation of an account with the ledger."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, Protocol
from uuid import UUID

from domain.bank import EntryRef
from domain.matching import name_similarity
from projections.db import Database, Row

IN_CHUNK = 500  # parameters per IN (...) list: well inside SQLite's limit
WINDOW_DAYS = 7  # how far apart a bank line's date and a ledger entry's date may be to suggest
MIN_SCORE = 0.5
MAX_SUGGESTIONS = 3
LINE_FIELDS = ("line_id, booked_on, amount_vnd, balance_vnd, bank_txn_id, counterparty,"
               " counterparty_account, description, reversal, match_id, target_id, target_kind,"
               " matched_how, currency, amount, balance, rate, rate_source")


def _chunks(values: Collection[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), IN_CHUNK):
        yield items[i:i + IN_CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class DonorDirectory(Protocol):
    """Donors by their sealed legal names (ledger.application.Ledger answers these)."""

    def donors_named(self, folded_name: str) -> list[UUID]: ...
    def donor_names(self, donor_ids: Iterable[str]) -> dict[str, str]: ...


class _NoDonors:
    def donors_named(self, folded_name: str) -> list[UUID]:
        return []

    def donor_names(self, donor_ids: Iterable[str]) -> dict[str, str]:
        return {}


class BankQueries:
    def __init__(self, db: Database, catch_up: Callable[[], None] = lambda: None,
                 donors: DonorDirectory | None = None) -> None:
        """`catch_up` brings the read models to the head of the log: the ledger's look-ups call
        it first, so that what was recorded a moment ago is seen. `donors` finds donors by their
        legal names, which no read model holds."""
        self.db = db
        self.catch_up = catch_up
        self.donors: DonorDirectory = donors if donors is not None else _NoDonors()

    # ---- the ledger's look-ups (ledger.bank_book.BankIndex) -----------------------------

    def known_lines(self, line_ids: Collection[UUID]) -> set[UUID]:
        self.catch_up()
        known: set[UUID] = set()
        for chunk in _chunks([str(i) for i in line_ids]):
            rows = self.db.query(f"SELECT line_id FROM bank_lines WHERE line_id IN ({_marks(len(chunk))})",
                                 chunk)
            known.update(UUID(r["line_id"]) for r in rows)
        return known

    def receipts(self, fund: str, *, bank_txn_ids: Collection[str],
                 references: Collection[str]) -> list[EntryRef]:
        self.catch_up()
        rows: dict[str, Row] = {}
        for column, values in (("bank_txn_id", bank_txn_ids), ("reference", references)):
            for chunk in _chunks(values):
                # Only the IN list in SQL, so that the planner uses that column's index; the
                # rest is filtered here.
                for r in self.db.query(
                        "SELECT entry_id, kind, fund, reversed, amount_vnd, reference, bank_txn_id,"
                        f" line_id, claimed FROM bank_entries WHERE {column} IN ({_marks(len(chunk))})",
                        chunk):
                    if r["kind"] == "receipt" and r["fund"] == fund and not r["reversed"]:
                        rows[r["entry_id"]] = r
        return [EntryRef(id=UUID(r["entry_id"]), amount_vnd=int(r["amount_vnd"]),
                         reference=r["reference"], bank_txn_id=r["bank_txn_id"],
                         matched=r["line_id"] is not None, claimed_before=bool(r["claimed"]))
                for r in rows.values()]

    def pledges_by_code(self, codes: Collection[str]) -> dict[str, list[UUID]]:
        self.catch_up()
        found: dict[str, list[UUID]] = defaultdict(list)
        for chunk in _chunks(codes):
            for r in self.db.query("SELECT code, pledge_id FROM bank_pledge_codes"
                                   f" WHERE code IN ({_marks(len(chunk))})", chunk):
                found[r["code"]].append(UUID(r["pledge_id"]))
        return dict(found)

    def donors_named(self, folded_name: str) -> list[UUID]:
        # The blind index is written with the donor's key, before its event: no catch-up needed.
        return self.donors.donors_named(folded_name)

    def line_of_match(self, match_id: UUID) -> UUID | None:
        self.catch_up()
        row = self.db.query_one("SELECT line_id FROM bank_lines WHERE match_id = ?", (str(match_id),))
        return UUID(row["line_id"]) if row else None

    # ---- accounts and lines ------------------------------------------------------------------

    def account(self, code: str) -> Row | None:
        return self.db.query_one(
            "SELECT code, bank, bank_bin, account_number, fund, currency FROM bank_accounts WHERE code = ?",
            (code,))

    def accounts(self) -> list[Row]:
        return self.db.query(
            "SELECT code, bank, bank_bin, account_number, fund, currency FROM bank_accounts ORDER BY code")

    def line(self, line_id: str) -> Row | None:
        return self.db.query_one(f"SELECT account_code, {LINE_FIELDS} FROM bank_lines WHERE line_id = ?",
                                 (line_id,))

    def lines(self, account: str, start: str, end: str) -> list[Row]:
        return [_line(r) for r in self.db.query(
            f"SELECT {LINE_FIELDS} FROM bank_lines WHERE account_code = ? AND booked_on >= ?"
            " AND booked_on <= ? ORDER BY booked_on, position", (account, start, end))]

    def statement_status(self, account: str, line_ids: Sequence[UUID], start: str, end: str,
                         fund: str) -> dict[str, int]:
        """How the lines of one imported file stand now: matched, with suggestions, or neither."""
        wanted = {str(i) for i in line_ids}
        lines = [r for r in self.lines(account, start, end) if r["line_id"] in wanted]
        open_lines = [r for r in lines if r["match_id"] is None]
        suggested = {s["bank_line_id"] for s in self.suggestions(open_lines, fund)}
        return {"matched": len(lines) - len(open_lines), "suggested": len(suggested),
                "unmatched": len(open_lines) - len(suggested)}

    # ---- suggestions -------------------------------------------------------------------------

    def suggestions(self, lines: Sequence[Row], fund: str) -> list[Row]:
        """For unmatched lines: open ledger entries with the same amount, dated within a week,
        best first. A receipt scores on its donor's name (the counterparty's, folded) and on
        the dates; a distribution on the dates only. A suggestion is never recorded by itself."""
        if not lines:
            return []
        days = [r["booked_on"] for r in lines]
        start = (date.fromisoformat(min(days)) - timedelta(days=WINDOW_DAYS)).isoformat()
        end = (date.fromisoformat(max(days)) + timedelta(days=WINDOW_DAYS)).isoformat()
        by_amount: dict[int, list[Row]] = defaultdict(list)
        for e in self.db.query(
                "SELECT e.entry_id, e.kind, e.booked_on, e.amount_vnd, e.reference, e.donor_id"
                " FROM bank_entries e"
                " WHERE e.line_id IS NULL AND e.reversed = 0 AND e.booked_on >= ? AND e.booked_on <= ?"
                " AND (e.kind = 'distribution' OR (e.fund = ? AND e.channel != 'in_kind'))",
                (start, end, fund)):
            by_amount[int(e["amount_vnd"])].append(e)
        # Legal names are sealed: decrypted here, in memory, for the staff who asked; never stored.
        names = self.donors.donor_names(
            e["donor_id"] for entries in by_amount.values() for e in entries if e["donor_id"])
        for entries in by_amount.values():
            for e in entries:
                e["donor"] = names.get(e.pop("donor_id") or "")
        out: list[Row] = []
        for line in lines:
            if line.get("match_id") is not None:
                continue
            booked = date.fromisoformat(line["booked_on"])
            scored = []
            for e in by_amount.get(int(line["amount_vnd"]), ()):
                apart = abs((date.fromisoformat(e["booked_on"]) - booked).days)
                if apart > WINDOW_DAYS:
                    continue
                closeness = 1 - apart / (WINDOW_DAYS + 1)
                if e["kind"] == "receipt":
                    name = name_similarity(line["counterparty"], e["donor"] or "")
                    score, why = 0.6 * name + 0.4 * closeness, f"same amount, {apart} day(s) apart," \
                                                               f" name {round(100 * name)}% alike"
                else:
                    score, why = 0.2 + 0.6 * closeness, f"same amount, {apart} day(s) apart"
                if score >= MIN_SCORE:
                    scored.append((score, e, why))
            scored.sort(key=lambda s: (-s[0], s[1]["booked_on"], s[1]["entry_id"]))
            out += [{"bank_line_id": line["line_id"], "target_id": e["entry_id"], "kind": e["kind"],
                     "reference": e["reference"], "score": round(score, 3), "reason": why}
                    for score, e, why in scored[:MAX_SUGGESTIONS]]
        return out

    # ---- reconciliation ----------------------------------------------------------------------

    def timeline(self, code: str) -> Timeline:
        """The account's balance day by day, in its own currency (minor units of a foreign one),
        from its statements and lines, and the gaps between its statements.

        A line's stored balance is the running balance in its file's order, which need not be
        date order, and a line met again in an overlapping file is stored once, under the file
        that brought it first. So balances are not read from lines: the balance at the end of a
        day is the opening balance of the account's first statement plus every line booked up to
        that day, lines taken in booking-date order. Each later statement (in the order of the
        first day it covers) must open at the balance the account had before that day, and
        start at most a day after the statements before it end; one that doesn't is a gap. Past
        a gap the bank's own opening balance is taken, so that the balances after it are the
        bank's and the gap shows once, where it is."""
        daily = [(r["booked_on"], int(r["total"])) for r in self.db.query(
            "SELECT booked_on, SUM(COALESCE(amount, amount_vnd)) AS total FROM bank_lines"
            " WHERE account_code = ?"
            " GROUP BY booked_on ORDER BY booked_on", (code,))]
        spans = {r["statement_id"]: (r["first"], r["last"]) for r in self.db.query(
            "SELECT statement_id, MIN(booked_on) AS first, MAX(booked_on) AS last FROM bank_lines"
            " WHERE account_code = ? GROUP BY statement_id", (code,))}
        placed = []
        for r in self.db.query(
                "SELECT statement_id, position, period_from, period_to,"
                " COALESCE(opening_balance, opening_balance_vnd) AS opening_balance_vnd"
                " FROM bank_statements WHERE account_code = ? ORDER BY position", (code,)):
            first, last = spans.get(r["statement_id"], (None, None))
            begins = r["period_from"] or first
            if begins is None:
                continue  # no dates and no line of its own: it adds nothing to place
            placed.append(_Placed(str(r["statement_id"]), begins, r["period_to"] or last or begins,
                                  r["period_from"] is not None, r["period_to"] is not None,
                                  int(r["opening_balance_vnd"])))
        placed.sort(key=lambda p: p.begins)  # stable: statements of one first day stay in log order
        book = Timeline(daily)
        if placed:
            book.base = placed[0].opening - book.before(placed[0].begins)
        elif (first_line := self.db.query_one(
                "SELECT COALESCE(balance, balance_vnd) AS balance_vnd, COALESCE(amount, amount_vnd) AS"
                " amount_vnd FROM bank_lines WHERE account_code = ?"
                " ORDER BY position LIMIT 1", (code,))) is not None:
            # Lines whose statement is not recorded yet (an import under way or interrupted): its
            # first line's running balance less its amount is the file's opening balance.
            book.base = int(first_line["balance_vnd"]) - int(first_line["amount_vnd"])
        covering: _Placed | None = None
        for s in placed:
            if covering is not None:
                expected = book.before(s.begins)
                # Without a declared first day, the file may open on days already covered whose
                # lines are stored under an earlier statement: any earlier day's balance will do.
                follows = s.opening == expected or (not s.declared_from and s.opening in {
                    book.before(day) for day, _ in daily if day <= s.begins})
                uncovered = (_days_between(covering.ends, s.begins)
                             if covering.declared_to and s.declared_from else 0)
                if not follows or uncovered > 0:
                    book.gaps.append({
                        "after_statement": covering.statement_id, "before_statement": s.statement_id,
                        "from": covering.ends, "to": s.begins, "uncovered_days": uncovered,
                        "expected_opening_vnd": expected, "opening_vnd": s.opening})
                if not follows:
                    book.shifts.append((s.begins, s.opening - expected))
            if covering is None or s.ends >= covering.ends:
                covering = s
        return book

    def reconciliation(self, account: Row, start: str, end: str) -> Row:
        """The account's bank balance against the ledger's at the end of the period.

        Both start from the bank's balance before the period. The bank adds every line of the
        period; the ledger adds the entries it can account for: those matched to a line (at
        the line's amount, which is the entry's) and those no line matches yet. So the
        difference is exactly the unmatched lines less the unmatched ledger entries, and it is
        zero when everything is matched. Gaps between the account's statements that touch the
        period are listed; the account is not reconciled while there is one."""
        code, fund = account["code"], account["fund"]
        book = self.timeline(code)
        opening = book.before(start)
        bank_balance = book.at_end_of(end)
        # A gap touches the days no statement covers, and the day the next statement opens,
        # from which the balances are the bank's again.
        gaps = [g for g in book.gaps if min(_day_after(g["from"]), g["to"]) <= end and g["to"] >= start]
        lines = self.lines(code, start, end)
        reversed_targets = {r["entry_id"] for r in self.db.query(
            "SELECT entry_id FROM bank_entries WHERE reversed = 1 AND line_id IS NOT NULL"
            " AND line_id IN (SELECT line_id FROM bank_lines WHERE account_code = ?)", (code,))}
        matched, open_lines = [], []
        for line in lines:
            if line["match_id"] is not None and line["target_id"] not in reversed_targets:
                matched.append(line)
            else:
                if line["match_id"] is not None:
                    line["note"] = "matched to an entry that was reversed since"
                open_lines.append(line)
        currency = account.get("currency") or "VND"
        # A foreign account is reconciled in its currency (the bank's balance is in it): the ledger
        # side is its matched lines' amounts. The fund's unmatched bank receipts are in đồng, the
        # VND accounts' to account for, and are not listed under it.
        entries = [] if currency != "VND" else self.db.query(
            "SELECT entry_id, kind, booked_on, amount_vnd, reference, bank_txn_id, donor_id"
            " FROM bank_entries WHERE kind = 'receipt' AND fund = ? AND channel = 'bank'"
            " AND reversed = 0 AND line_id IS NULL AND booked_on >= ? AND booked_on <= ?"
            " ORDER BY booked_on, position", (fund, start, end))
        ledger_balance = (opening + sum(_in_account_currency(r) for r in matched)
                          + sum(int(e["amount_vnd"]) for e in entries))
        difference = bank_balance - ledger_balance
        reconciled = difference == 0 and not open_lines and not entries and not gaps
        figures: Row = {
            "opening_balance_vnd": opening, "ledger_balance_vnd": ledger_balance,
            "bank_balance_vnd": bank_balance, "difference_vnd": difference,
        } if currency == "VND" else {
            "opening_balance": opening, "ledger_balance": ledger_balance, "bank_balance": bank_balance,
            "difference": difference,
            "matched_vnd": sum(int(r["amount_vnd"]) for r in matched),
        }
        return {
            "account": code, "fund": fund, "from": start, "to": end, "currency": currency, **figures,
            "matched": len(matched), "reconciled": reconciled,
            "unmatched_bank_lines": open_lines, "unmatched_ledger_entries": entries,
            "suggestions": self.suggestions([r for r in open_lines if r["match_id"] is None], fund),
            "gaps": gaps,
        }


@dataclass(frozen=True, slots=True)
class _Placed:
    """A statement as the timeline places it: the days it covers, declared or seen in its lines."""

    statement_id: str
    begins: str
    ends: str
    declared_from: bool
    declared_to: bool
    opening: int


class Timeline:
    """An account's balance at any day: `base` (the balance before its first line), plus its lines
    up to that day, plus the `shifts` taken at gaps (from a day on, by an amount)."""

    def __init__(self, daily: list[tuple[str, int]]) -> None:
        self.days = [day for day, _ in daily]
        self.running = list(accumulate(total for _, total in daily))
        self.base = 0
        self.shifts: list[tuple[str, int]] = []
        self.gaps: list[Row] = []

    def _through(self, count: int, shifts: int) -> int:
        return self.base + (self.running[count - 1] if count else 0) + shifts

    def before(self, day: str) -> int:
        """The balance at the start of `day` (an ISO date, compared as text)."""
        return self._through(bisect_left(self.days, day), sum(x for at, x in self.shifts if at < day))

    def at_end_of(self, day: str) -> int:
        return self._through(bisect_right(self.days, day), sum(x for at, x in self.shifts if at <= day))


def _day_after(day: str) -> str:
    try:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    except OverflowError:  # 9999-12-31: nothing comes after it
        return day


def _days_between(ends: str, begins: str) -> int:
    """Whole days no statement covers between one that ends on `ends` and one that begins on `begins`."""
    return max(0, (date.fromisoformat(begins) - date.fromisoformat(ends)).days - 1)


def _in_account_currency(line: Row) -> int:
    return int(line["amount"] if line.get("amount") is not None else line["amount_vnd"])


def _line(r: Row) -> Row:
    r["reversal"] = bool(r["reversal"])
    return r
