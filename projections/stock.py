"""Goods in stock per item and unit (DESIGN §7 `GET /balances/stock`), kept by the balances
projection in the same transaction as the money: the fund balances show money and goods apart
(`available_vnd` is money only) by subtracting these rows, and both are always at one position.

Two levels: `fund` (per fund and restriction: received, less what allocations took, plus what
their reversals gave back) and `programme` (per programme and the fund its goods came from:
allocated in, less what distributions took, plus what their reversals gave back). Goods are
keyed by `domain.goods.GoodsKey` (folded item and unit); the names shown are the first recorded.
"""

from __future__ import annotations

from typing import Any

from projections.db import Cursor

FUND, PROGRAMME = "fund", "programme"
CACHE_LIMIT = 50_000

# (level, fund, restriction, programme_id, goods_key)
Key = tuple[str, str, str, str, str]


class StockBook:
    tables = ("goods_names", "goods_stock", "stock_tranches")

    def __init__(self) -> None:
        # "allocation|receipt" → (programme_id, fund, goods_key, quantity, value_vnd): what each
        # tranche of goods brought into its programme. A distribution's pieces name only their
        # tranche, and a reversed allocation takes its tranches out again.
        self.tranches: dict[str, tuple[str, str, str, int, int]] = {}
        self.begin()

    def begin(self) -> None:
        # per row: [received, allocated, distributed, value_vnd] deltas of this batch
        self.rows: dict[Key, list[int]] = {}
        # goods key → (item, unit) as first recorded in this batch (the table keeps the first
        # of all: a key it holds already is left as it is)
        self.names: dict[str, tuple[str, str]] = {}
        self.new_tranches: list[tuple[Any, ...]] = []
        if len(self.tranches) > CACHE_LIMIT:
            self.tranches.clear()  # between batches only: this batch's rows are written

    def clear(self) -> None:
        self.tranches.clear()

    def _add(self, key: Key, received: int = 0, allocated: int = 0, distributed: int = 0,
             value: int = 0) -> None:
        row = self.rows.setdefault(key, [0, 0, 0, 0])
        row[0] += received
        row[1] += allocated
        row[2] += distributed
        row[3] += value

    # ---- the fund level -------------------------------------------------------------------

    def received(self, fund: str, restriction: str, goods_key: str, item: str, unit: str,
                 quantity: int, value_vnd: int) -> None:
        self.names.setdefault(goods_key, (item, unit))
        self._add((FUND, fund, restriction, "", goods_key), received=quantity, value=value_vnd)

    def drawn(self, fund: str, restriction: str, goods_key: str, quantity: int,
              value_vnd: int) -> None:
        """An allocation took goods from a receipt (negative amounts: a reversal gave them back)."""
        self._add((FUND, fund, restriction, "", goods_key), allocated=quantity, value=-value_vnd)

    def receipt_reversed(self, fund: str, restriction: str, goods_key: str, quantity: int,
                         value_vnd: int) -> None:
        # The ledger reverses a receipt only while all of it is still in the fund.
        self._add((FUND, fund, restriction, "", goods_key), received=-quantity, value=-value_vnd)

    # ---- the programme level --------------------------------------------------------------

    def allocated(self, programme_id: str, allocation_id: str, receipt_id: str, fund: str,
                  goods_key: str, name: tuple[str, str] | None, quantity: int,
                  value_vnd: int) -> None:
        """A tranche of goods came into a programme; `name` is its (item, unit) as recorded, if
        the piece carries it (the receipt's own name was kept before, when it was recorded)."""
        if name is not None:
            self.names.setdefault(goods_key, name)
        self._add((PROGRAMME, fund, "", programme_id, goods_key), allocated=quantity,
                  value=value_vnd)
        tranche = (programme_id, fund, goods_key, quantity, value_vnd)
        self.tranches[f"{allocation_id}|{receipt_id}"] = tranche
        self.new_tranches.append((allocation_id, receipt_id, *tranche))

    def _tranche(self, cur: Cursor, allocation_id: str,
                 receipt_id: str) -> tuple[str, str, str, int, int] | None:
        key = f"{allocation_id}|{receipt_id}"
        if key not in self.tranches:
            row = cur.execute(
                "SELECT programme_id, fund, goods_key, quantity, value_vnd FROM stock_tranches"
                " WHERE allocation_id = ? AND receipt_id = ?", (allocation_id, receipt_id)).fetchone()
            if row is None:
                return None  # a tranche of money
            self.tranches[key] = (row["programme_id"], row["fund"], row["goods_key"],
                                  int(row["quantity"]), int(row["value_vnd"]))
        return self.tranches[key]

    def distributed(self, cur: Cursor, programme_id: str, allocation_id: str, receipt_id: str,
                    quantity: int, value_vnd: int) -> None:
        """A distribution took goods from a tranche (negative amounts: its reversal gave them back)."""
        tranche = self._tranche(cur, allocation_id, receipt_id)
        if tranche is not None:
            _, fund, goods_key, _, _ = tranche
            self._add((PROGRAMME, fund, "", programme_id, goods_key), distributed=quantity,
                      value=-value_vnd)

    def allocation_returned(self, cur: Cursor, programme_id: str, allocation_id: str) -> None:
        """A reversed allocation's goods left the programme (all of them: the ledger reverses an
        allocation only while nothing of it is distributed)."""
        rows = [t for k, t in self.tranches.items() if k.startswith(f"{allocation_id}|")]
        if not rows:
            rows = [(r["programme_id"], r["fund"], r["goods_key"], int(r["quantity"]),
                     int(r["value_vnd"])) for r in cur.execute(
                "SELECT programme_id, fund, goods_key, quantity, value_vnd FROM stock_tranches"
                " WHERE allocation_id = ?", (allocation_id,)).fetchall()]
        for _, fund, goods_key, quantity, value in rows:
            self._add((PROGRAMME, fund, "", programme_id, goods_key), allocated=-quantity,
                      value=-value)

    # ---- writing --------------------------------------------------------------------------

    def statements(self) -> tuple[list[tuple[str, tuple[Any, ...]]], list[tuple[str, tuple[Any, ...]]]]:
        """This batch's (inserts, updates) for the projection to write, and a fresh batch."""
        inserts: list[tuple[str, tuple[Any, ...]]] = []
        for goods_key, (item, unit) in self.names.items():
            inserts.append(("INSERT INTO goods_names (goods_key, item, unit) VALUES (?,?,?)"
                            " ON CONFLICT (goods_key) DO NOTHING", (goods_key, item, unit)))
        for row in self.new_tranches:
            inserts.append(("INSERT INTO stock_tranches (allocation_id, receipt_id, programme_id,"
                            " fund, goods_key, quantity, value_vnd) VALUES (?,?,?,?,?,?,?)", row))
        updates = [(
            "INSERT INTO goods_stock (level, fund, restriction, programme_id, goods_key,"
            " received_quantity, allocated_quantity, distributed_quantity, value_vnd)"
            " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (level, fund, restriction, programme_id,"
            " goods_key) DO UPDATE SET"
            " received_quantity = goods_stock.received_quantity + excluded.received_quantity,"
            " allocated_quantity = goods_stock.allocated_quantity + excluded.allocated_quantity,"
            " distributed_quantity = goods_stock.distributed_quantity"
            " + excluded.distributed_quantity,"
            " value_vnd = goods_stock.value_vnd + excluded.value_vnd", (*key, *delta))
            for key, delta in self.rows.items()]
        self.begin()
        return inserts, updates
