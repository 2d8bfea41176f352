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
        # A receipt's fund and restriction never change: remember them, save a query per draw.
        self.receipts: dict[str, tuple[str, str]] = {}

    @handles("Receipt.Recorded")
    def recorded(self, cur: Cursor, e: Any, position: int) -> None:
        r = e.restriction
        key = restriction_key(r)
        cur.execute(
            "INSERT INTO receipt_balances (receipt_id, position, fund, restriction, r_district,"
            " r_commune, r_category, specificity, item, received_on, amount_vnd, remaining_vnd,"
            " remaining_quantity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (str(e.originator_id), position, e.fund, key, r.get("district"), r.get("commune"),
             r.get("category"), specificity(r), e.goods["item"] if e.goods else None,
             e.received_on, e.amount_vnd, e.amount_vnd, e.goods["quantity"] if e.goods else 0),
        )
        self._fund(cur, e.fund, key, received=e.amount_vnd)
        if len(self.receipts) > CACHE_LIMIT:
            self.receipts.clear()
        self.receipts[str(e.originator_id)] = (e.fund, key)

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.receipts.clear()

    def _receipt(self, cur: Cursor, receipt_id: str, position: int) -> tuple[str, str]:
        if receipt_id not in self.receipts:
            row = cur.execute("SELECT fund, restriction FROM receipt_balances WHERE receipt_id = ?",
                              (receipt_id,)).fetchone()
            assert row is not None, f"receipt {receipt_id} unknown at position {position}"
            self.receipts[receipt_id] = (row["fund"], row["restriction"])
        return self.receipts[receipt_id]

    @handles("Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed")
    def receipt_changed(self, cur: Cursor, e: Any, position: int) -> None:
        fund, key = self._receipt(cur, str(e.originator_id), position)
        kind = type(e).__qualname__
        if kind == "Receipt.Reversed":
            row = cur.execute("SELECT remaining_vnd FROM receipt_balances WHERE receipt_id = ?",
                              (str(e.originator_id),)).fetchone()
            assert row is not None
            self._fund(cur, fund, key, received=-row["remaining_vnd"])
            cur.execute("UPDATE receipt_balances SET remaining_vnd = 0, remaining_quantity = 0,"
                        " reversed = 1 WHERE receipt_id = ?", (str(e.originator_id),))
            return
        sign = -1 if kind == "Receipt.Drawn" else 1
        cur.execute(
            "UPDATE receipt_balances SET remaining_vnd = remaining_vnd + ?,"
            " remaining_quantity = remaining_quantity + ? WHERE receipt_id = ?",
            (sign * e.amount_vnd, sign * e.quantity, str(e.originator_id)),
        )
        if sign < 0:
            self._fund(cur, fund, key, allocated=e.amount_vnd)
        else:
            self._fund(cur, fund, key, returned=e.amount_vnd)

    @staticmethod
    def _fund(cur: Cursor, fund: str, key: str, *, received: int = 0, allocated: int = 0,
              returned: int = 0) -> None:
        cur.execute(
            "INSERT INTO fund_balances (fund, restriction, received_vnd, allocated_vnd, returned_vnd)"
            " VALUES (?,?,?,?,?) ON CONFLICT (fund, restriction) DO UPDATE SET"
            " received_vnd = fund_balances.received_vnd + excluded.received_vnd,"
            " allocated_vnd = fund_balances.allocated_vnd + excluded.allocated_vnd,"
            " returned_vnd = fund_balances.returned_vnd + excluded.returned_vnd",
            (fund, key, received, allocated, returned),
        )

    @handles("Programme.Opened")
    def opened(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
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
            "FundsAllocated": ("allocated_vnd", 1),
            "SupportDistributed": ("distributed_vnd", 1),
            "AllocationReturned": ("returned_vnd", 1),
            "DistributionReturned": ("distributed_vnd", -1),
        }[kind]
        cur.execute(f"UPDATE programme_balances SET {column} = {column} + ? WHERE programme_id = ?",
                    (sign * amount, str(e.originator_id)))
