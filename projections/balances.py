"""Fund balances per restriction, receipts' remaining money (FIFO candidates), programme balances."""

from __future__ import annotations

from typing import Any

from domain.money import restriction_key, specificity
from projections.base import Projection, handles
from projections.db import Cursor

CACHE_LIMIT = 200_000


class Balances(Projection):
    name = "balances"
    tables = ("receipt_balances", "fund_balances", "programme_balances")

    def __init__(self) -> None:
        super().__init__()
        # A receipt's fund, restriction and amount never change: remember them.
        self.receipts: dict[str, tuple[str, str, int]] = {}
        self.funds: dict[tuple[str, str], list[int]] = {}
        self.remaining: dict[str, list[int]] = {}
        self.programmes: dict[str, list[int]] = {}

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        self.funds, self.remaining, self.programmes = {}, {}, {}
        if len(self.receipts) > CACHE_LIMIT:
            self.receipts.clear()  # only between batches: this batch's receipts aren't written yet

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.receipts.clear()

    @handles("Receipt.Recorded")
    def recorded(self, cur: Cursor, e: Any, position: int) -> None:
        r = e.restriction
        key = restriction_key(r)
        self.insert(
            "INSERT INTO receipt_balances (receipt_id, position, fund, restriction, r_district,"
            " r_commune, r_category, specificity, item, received_on, amount_vnd, remaining_vnd,"
            " remaining_quantity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (str(e.originator_id), position, e.fund, key, r.get("district"), r.get("commune"),
             r.get("category"), specificity(r), e.goods["item"] if e.goods else None,
             e.received_on, e.amount_vnd, e.amount_vnd, e.goods["quantity"] if e.goods else 0),
        )
        self._fund(e.fund, key, 0, e.amount_vnd)
        self.receipts[str(e.originator_id)] = (e.fund, key, e.amount_vnd)

    def _receipt(self, cur: Cursor, receipt_id: str, position: int) -> tuple[str, str, int]:
        if receipt_id not in self.receipts:
            row = cur.execute("SELECT fund, restriction, amount_vnd FROM receipt_balances"
                              " WHERE receipt_id = ?", (receipt_id,)).fetchone()
            assert row is not None, f"receipt {receipt_id} unknown at position {position}"
            self.receipts[receipt_id] = (row["fund"], row["restriction"], int(row["amount_vnd"]))
        return self.receipts[receipt_id]

    @handles("Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed")
    def receipt_changed(self, cur: Cursor, e: Any, position: int) -> None:
        receipt_id = str(e.originator_id)
        fund, key, amount = self._receipt(cur, receipt_id, position)
        kind = type(e).__qualname__
        if kind == "Receipt.Reversed":
            # The ledger reverses a receipt only while all of it is still in the fund.
            self._fund(fund, key, 0, -amount)
            # It sets the final value: a draw or return earlier in this batch, still pending as a
            # delta, must not be added on top of it when the batch ends.
            self.remaining.pop(receipt_id, None)
            self.update("UPDATE receipt_balances SET remaining_vnd = 0, remaining_quantity = 0,"
                        " reversed = 1 WHERE receipt_id = ?", (receipt_id,))
            return
        sign = -1 if kind == "Receipt.Drawn" else 1
        delta = self.remaining.setdefault(receipt_id, [0, 0])
        delta[0] += sign * e.amount_vnd
        delta[1] += sign * e.quantity
        self._fund(fund, key, 1 if sign < 0 else 2, e.amount_vnd)

    def _fund(self, fund: str, key: str, column: int, amount: int) -> None:
        """column 0 received, 1 allocated, 2 returned"""
        self.funds.setdefault((fund, key), [0, 0, 0])[column] += amount

    @handles("Programme.Opened")
    def opened(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO programme_balances (programme_id, season, district, commune, category)"
            " VALUES (?,?,?,?,?)",
            (str(e.originator_id), e.season, e.district, e.commune, e.category),
        )

    @handles("Programme.FundsAllocated", "Programme.SupportDistributed",
             "Programme.AllocationReturned", "Programme.DistributionReturned")
    def programme_changed(self, cur: Cursor, e: Any, position: int) -> None:
        kind = type(e).__qualname__.split(".")[1]
        amount = e.amount_vnd if kind == "AllocationReturned" else sum(
            int(p["amount_vnd"]) for p in e.pieces)
        column, sign = {
            "FundsAllocated": (0, 1),
            "SupportDistributed": (1, 1),
            "AllocationReturned": (2, 1),
            "DistributionReturned": (1, -1),
        }[kind]
        self.programmes.setdefault(str(e.originator_id), [0, 0, 0])[column] += sign * amount

    def finish(self, cur: Cursor) -> None:
        # Many changes to one receipt, fund or programme in a batch become one statement.
        for receipt_id, (vnd, quantity) in self.remaining.items():
            self.update("UPDATE receipt_balances SET remaining_vnd = remaining_vnd + ?,"
                        " remaining_quantity = remaining_quantity + ? WHERE receipt_id = ?",
                        (vnd, quantity, receipt_id))
        for (fund, key), (received, allocated, returned) in self.funds.items():
            self.update(
                "INSERT INTO fund_balances (fund, restriction, received_vnd, allocated_vnd,"
                " returned_vnd) VALUES (?,?,?,?,?) ON CONFLICT (fund, restriction) DO UPDATE SET"
                " received_vnd = fund_balances.received_vnd + excluded.received_vnd,"
                " allocated_vnd = fund_balances.allocated_vnd + excluded.allocated_vnd,"
                " returned_vnd = fund_balances.returned_vnd + excluded.returned_vnd",
                (fund, key, received, allocated, returned))
        for programme_id, (allocated, distributed, returned) in self.programmes.items():
            self.update(
                "UPDATE programme_balances SET allocated_vnd = allocated_vnd + ?,"
                " distributed_vnd = distributed_vnd + ?, returned_vnd = returned_vnd + ?"
                " WHERE programme_id = ?", (allocated, distributed, returned, programme_id))
        self.funds, self.remaining, self.programmes = {}, {}, {}
        super().finish(cur)
