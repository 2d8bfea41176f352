"""Bank accounts, statements and lines, and the ledger entries they may match (staff only)."""

from __future__ import annotations

from typing import Any

from domain.leaf import receipt_reference
from domain.matching import payment_code
from domain.text import fold
from projections.base import Projection, handles
from projections.db import Cursor

# Matching and unmatching write through one statement each, so that within a batch they run
# in log order (a batch runs each statement's rows together).
SET_LINE_MATCH = ("UPDATE bank_lines SET match_id = ?, target_id = ?, target_kind = ?, matched_how = ?"
                  " WHERE line_id = ?")
SET_ENTRY_LINE = "UPDATE bank_entries SET line_id = ?, claimed = 1 WHERE entry_id = ?"


class Bank(Projection):
    name = "bank"
    tables = ("bank_accounts", "bank_statements", "bank_lines", "bank_entries", "bank_donors",
              "bank_pledge_codes")

    @handles("BankAccount.Registered")
    def account(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO bank_accounts (code, account_id, position, bank, bank_bin, account_number,"
            " fund, currency) VALUES (?,?,?,?,?,?,?,?)",
            (e.code, e.originator_id, position, e.bank, e.bank_bin, e.account_number, e.fund,
             _currency(e)))

    @handles("BankStatement.Imported")
    def statement(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO bank_statements (statement_id, position, account_code, format, sha256,"
            " period_from, period_to, opening_balance_vnd, closing_balance_vnd, lines, new_lines,"
            " matched, currency, opening_balance, closing_balance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (e.originator_id, position, e.account_code, e.format, e.sha256, e.period_from,
             e.period_to, e.opening_balance_vnd, e.closing_balance_vnd, e.lines, e.new_lines,
             e.matched, _currency(e), getattr(e, "opening_balance", None),
             getattr(e, "closing_balance", None)))

    @handles("BankLine.Imported")
    def line(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO bank_lines (line_id, position, account_code, statement_id, booked_on,"
            " amount_vnd, balance_vnd, bank_txn_id, counterparty, counterparty_folded,"
            " counterparty_account, description, reversal, currency, amount, balance, rate)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (e.originator_id, position, e.account_code, e.statement_id, e.booked_on,
             e.amount_vnd, e.balance_vnd, e.bank_txn_id, e.counterparty, fold(e.counterparty),
             e.counterparty_account, e.description, int(e.reversal), _currency(e),
             getattr(e, "amount", None), getattr(e, "balance", None), getattr(e, "rate", None)))

    @handles("BankLine.Rated")
    def rated(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE bank_lines SET amount_vnd = ?, rate = ?, rate_source = ? WHERE line_id = ?",
                    (e.amount_vnd, e.rate, e.rate_source, e.originator_id))

    @handles("BankLine.Matched")
    def matched(self, cur: Cursor, e: Any, position: int) -> None:
        line_id = e.originator_id
        self.update(SET_LINE_MATCH, (e.match_id, e.target_id, e.kind, e.how, line_id))
        self.update(SET_ENTRY_LINE, (line_id, e.target_id))

    @handles("BankLine.Unmatched")
    def unmatched(self, cur: Cursor, e: Any, position: int) -> None:
        self.update(SET_LINE_MATCH, (None, None, None, None, e.originator_id))
        self.update(SET_ENTRY_LINE, (None, e.target_id))

    @handles("Receipt.Recorded")
    def receipt(self, cur: Cursor, e: Any, position: int) -> None:
        if e.goods is not None:
            return  # goods never pass through a bank account
        self.insert(
            "INSERT INTO bank_entries (entry_id, position, kind, fund, channel, booked_on, amount_vnd,"
            " reference, bank_txn_id, donor_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (e.originator_id, position, "receipt", e.fund, e.channel, e.received_on,
             e.amount_vnd, receipt_reference(e.received_on, position), e.bank_txn_id,
             e.donor_id))

    @handles("Distribution.Made")
    def distribution(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO bank_entries (entry_id, position, kind, booked_on, amount_vnd)"
            " VALUES (?,?,?,?,?)",
            (e.originator_id, position, "distribution", e.distributed_on, -e.total_vnd))

    @handles("Receipt.Reversed", "Distribution.Reversed")
    def reversed(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE bank_entries SET reversed = 1 WHERE entry_id = ?", (e.originator_id,))

    # Donors' legal names are sealed (DESIGN §6): no read model keeps them. `bank_donors` stays
    # empty; matching finds a donor by a keyed blind index (api/keys.DonorKeyTable), and staff's
    # suggestions decrypt names in memory (BankQueries.donor_names).

    @handles("Pledge.Made")
    def pledge(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert("INSERT INTO bank_pledge_codes (code, pledge_id) VALUES (?,?)",
                    (payment_code(e.originator_id), e.originator_id))


def _currency(e: Any) -> str:
    # Events recorded before accounts had currencies carry none: they are VND.
    return str(getattr(e, "currency", "VND"))
