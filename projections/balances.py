"""Fund balances per restriction, receipts' remaining money (FIFO candidates), programme balances,
and the goods in stock per item and unit (projections/stock.py) beside them."""

from __future__ import annotations

from typing import Any

from domain.goods import goods_key
from domain.money import restriction_key, specificity
from projections.base import Projection, handles
from projections.db import Cursor
from projections.stock import StockBook

CACHE_LIMIT = 200_000


class Balances(Projection):
    name = "balances"
    tables = ("receipt_balances", "fund_balances", "programme_balances", *StockBook.tables)

    def __init__(self) -> None:
        super().__init__()
        # A receipt's fund, restriction, amount, goods key (None for money) and quantity never
        # change: remember them.
        self.receipts: dict[str, tuple[str, str, int, str | None, int]] = {}
        self.stock = StockBook()
        self.funds: dict[tuple[str, str], list[int]] = {}
        self.remaining: dict[str, list[int]] = {}
        self.programmes: dict[str, list[int]] = {}
        # This batch's new receipts and programmes (the columns that never change), written at
        # its end with the batch's changes to them (`remaining`, `programmes`) already in: an
        # UPDATE of a row inserted in the same batch costs PostgreSQL a second version of it
        # (and, for `remaining_vnd`, new index entries).
        self.new_receipts: dict[str, tuple[Any, ...]] = {}
        self.reversed_new: set[str] = set()  # of new_receipts
        self.new_programmes: dict[str, tuple[str, str, str, str]] = {}  # id → its place

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        self.funds, self.remaining, self.programmes = {}, {}, {}
        self.new_receipts, self.reversed_new, self.new_programmes = {}, set(), {}
        self.stock.begin()
        if len(self.receipts) > CACHE_LIMIT:
            self.receipts.clear()  # only between batches: this batch's receipts aren't written yet

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.receipts.clear()
        self.stock.clear()

    @handles("Receipt.Recorded")
    def recorded(self, cur: Cursor, e: Any, position: int) -> None:
        r = e.restriction
        key = restriction_key(r)
        goods = e.goods
        gk = goods_key(goods["item"], goods.get("unit")).text() if goods else None
        quantity = goods["quantity"] if goods else 0
        receipt_id = str(e.originator_id)
        self.new_receipts[receipt_id] = (
            receipt_id, position, e.fund, key, r.get("district"), r.get("commune"),
            r.get("category"), specificity(r), goods["item"] if goods else None, e.received_on,
            gk, e.amount_vnd, quantity)
        self._fund(e.fund, key, 0, e.amount_vnd)
        self.receipts[receipt_id] = (e.fund, key, e.amount_vnd, gk, quantity)
        if goods and gk:
            self.stock.received(e.fund, key, gk, goods["item"], goods.get("unit") or "", quantity,
                                e.amount_vnd)

    def _receipt(self, cur: Cursor, receipt_id: str,
                 position: int) -> tuple[str, str, int, str | None, int]:
        if receipt_id not in self.receipts:
            row = cur.execute("SELECT fund, restriction, amount_vnd, goods_key, quantity"
                              " FROM receipt_balances WHERE receipt_id = ?", (receipt_id,)).fetchone()
            assert row is not None, f"receipt {receipt_id} unknown at position {position}"
            self.receipts[receipt_id] = (row["fund"], row["restriction"], int(row["amount_vnd"]),
                                         row["goods_key"], int(row["quantity"]))
        return self.receipts[receipt_id]

    @handles("Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed")
    def receipt_changed(self, cur: Cursor, e: Any, position: int) -> None:
        receipt_id = str(e.originator_id)
        fund, key, amount, gk, quantity = self._receipt(cur, receipt_id, position)
        kind = type(e).__qualname__
        if kind == "Receipt.Reversed":
            # The ledger reverses a receipt only while all of it is still in the fund.
            self._fund(fund, key, 0, -amount)
            if gk:
                self.stock.receipt_reversed(fund, key, gk, quantity, amount)
            # It sets the final value: a draw or return earlier in this batch, still pending as a
            # delta, must not be added on top of it when the batch ends.
            self.remaining.pop(receipt_id, None)
            if receipt_id in self.new_receipts:
                self.reversed_new.add(receipt_id)
            else:
                self.update("UPDATE receipt_balances SET remaining_vnd = 0, remaining_quantity = 0,"
                            " reversed = 1 WHERE receipt_id = ?", (receipt_id,))
            return
        sign = -1 if kind == "Receipt.Drawn" else 1
        delta = self.remaining.setdefault(receipt_id, [0, 0])
        delta[0] += sign * e.amount_vnd
        delta[1] += sign * e.quantity
        self._fund(fund, key, 1 if sign < 0 else 2, e.amount_vnd)
        if gk:
            self.stock.drawn(fund, key, gk, -sign * e.quantity, -sign * e.amount_vnd)

    def _fund(self, fund: str, key: str, column: int, amount: int) -> None:
        """column 0 received, 1 allocated, 2 returned"""
        self.funds.setdefault((fund, key), [0, 0, 0])[column] += amount

    @handles("Programme.Opened")
    def opened(self, cur: Cursor, e: Any, position: int) -> None:
        self.new_programmes[str(e.originator_id)] = (e.season, e.district, e.commune, e.category)

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
        self._programme_goods(cur, e, kind, position)

    def _programme_goods(self, cur: Cursor, e: Any, kind: str, position: int) -> None:
        pid = str(e.originator_id)
        if kind == "AllocationReturned":
            self.stock.allocation_returned(cur, pid, str(e.allocation_id))
            return
        allocation_id = str(getattr(e, "allocation_id", ""))
        for p in e.pieces:
            quantity, value = int(p["quantity"]), int(p["amount_vnd"])
            if not quantity:
                continue  # money
            receipt_id = str(p["receipt_id"])
            if kind != "FundsAllocated":
                sign = 1 if kind == "SupportDistributed" else -1
                self.stock.distributed(cur, pid, str(p["allocation_id"]), receipt_id,
                                       sign * quantity, sign * value)
            elif p.get("unit") is not None and p.get("fund"):
                # The piece says what it is: its receipt need not be read (which a batch of the
                # bench's generator may even hold after this event).
                self.stock.allocated(pid, allocation_id, receipt_id, p["fund"],
                                     goods_key(p["item"], p["unit"]).text(),
                                     (p["item"], p["unit"]), quantity, value)
            else:
                # A piece from before units were kept: its receipt's fund and unit.
                fund, _, _, gk, _ = self._receipt(cur, receipt_id, position)
                if gk:
                    self.stock.allocated(pid, allocation_id, receipt_id, fund, gk, None,
                                         quantity, value)

    def finish(self, cur: Cursor) -> None:
        # Many changes to one receipt, fund or programme in a batch become one statement, or
        # none for a row this batch makes.
        for receipt_id, row in self.new_receipts.items():
            *_, amount, quantity = row
            # What is left: all of it, or nothing once reversed, and this batch's draws on it.
            reversed_ = receipt_id in self.reversed_new
            vnd, items = self.remaining.pop(receipt_id, (0, 0))
            self.insert(
                "INSERT INTO receipt_balances (receipt_id, position, fund, restriction, r_district,"
                " r_commune, r_category, specificity, item, received_on, goods_key, amount_vnd,"
                " quantity, remaining_vnd, remaining_quantity, reversed)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*row, (0 if reversed_ else amount) + vnd, (0 if reversed_ else quantity) + items,
                 int(reversed_)))
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
        for programme_id, place in self.new_programmes.items():
            self.insert("INSERT INTO programme_balances (programme_id, season, district, commune,"
                        " category, allocated_vnd, distributed_vnd, returned_vnd)"
                        " VALUES (?,?,?,?,?,?,?,?)",
                        (programme_id, *place, *self.programmes.pop(programme_id, (0, 0, 0))))
        for programme_id, (allocated, distributed, returned) in self.programmes.items():
            self.update(
                "UPDATE programme_balances SET allocated_vnd = allocated_vnd + ?,"
                " distributed_vnd = distributed_vnd + ?, returned_vnd = returned_vnd + ?"
                " WHERE programme_id = ?", (allocated, distributed, returned, programme_id))
        inserts, updates = self.stock.statements()
        for sql, params in inserts:
            self.insert(sql, params)
        for sql, params in updates:
            self.update(sql, params)
        self.funds, self.remaining, self.programmes = {}, {}, {}
        self.new_receipts, self.reversed_new, self.new_programmes = {}, set(), {}
        super().finish(cur)
