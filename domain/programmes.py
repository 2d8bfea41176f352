"""Programmes (season × commune × category): money allocated in, support distributed out.

Invariant 2 lives here: allocated − distributed − returned ≥ 0, and no item's stock below zero.
Money sits in tranches, one per (allocation, receipt) piece, so a distribution that draws FIFO
over tranches knows exactly which receipts paid for it.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyReversed, DistributedBeforeReceived, InsufficientFunds
from domain.goods import GoodsKey, describe, goods_key
from domain.ids import as_id
from domain.meta import Meta


class Tranche(TypedDict):
    allocation_id: UUID
    receipt_id: UUID
    item: str | None
    # The goods' unit as their receipt recorded it; None in tranches allocated before it was
    # kept (and in snapshots taken then), which match no unit a distribution names.
    unit: NotRequired[str | None]
    unit_value_vnd: int
    remaining_vnd: int
    remaining_quantity: int
    # When its receipt was received (YYYY-MM-DD); None in tranches allocated before it was kept.
    received_on: str | None


class Piece(TypedDict):
    """One drawn piece of money or goods, traced to the receipt that paid for it."""

    allocation_id: UUID
    receipt_id: UUID
    amount_vnd: int
    quantity: int


class Programme(Aggregate):
    # 2: tranches hold their ids as UUIDs (snapshots of version 1 held them as text).
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for t in state.get("tranches", {}).values():
            t["allocation_id"], t["receipt_id"] = as_id(t["allocation_id"]), as_id(t["receipt_id"])

    @event("Opened")
    def __init__(self, *, id: UUID, season: str, district: str, commune: str, category: str,
                 meta: Meta) -> None:
        """A programme (season × commune × category) was opened by the first allocation to it."""
        self.season = season
        self.district = district
        self.commune = commune
        self.category = category
        # keyed "allocation|receipt"; a dict keeps insertion order, which is the FIFO order
        self.tranches: dict[str, Tranche] = {}
        self.allocated_vnd = 0
        self.distributed_vnd = 0
        self.returned_vnd = 0
        # allocation id's text → amount still counted in: text because snapshots are JSON,
        # whose object keys are strings (the same reason the tranches' keys are text).
        self.allocations: dict[str, int] = {}

    @property
    def remaining_vnd(self) -> int:
        return self.allocated_vnd - self.distributed_vnd - self.returned_vnd

    def stock(self, item: str, unit: str) -> int:
        """How many of this item, in this unit (matched as domain/goods.py says), are left."""
        wanted = goods_key(item, unit)
        return sum(t["remaining_quantity"] for t in self.tranches.values() if tranche_key(t) == wanted)

    @event("FundsAllocated")
    def receive(self, *, allocation_id: UUID, pieces: list[dict[str, Any]], meta: Meta) -> None:
        """An allocation's money or goods came into the programme, one tranche per receipt drawn on.

        Each piece names its receipt, amount, quantity and, for goods, the `item` and `unit` its
        receipt recorded, the receipt's `received_on` and the `fund` that paid; pieces recorded
        by older releases may lack the unit, the date or the fund."""
        total = 0
        for p in pieces:
            quantity = int(p["quantity"])
            receipt_id = as_id(p["receipt_id"])
            self.tranches[f"{allocation_id}|{receipt_id}"] = Tranche(
                allocation_id=allocation_id,
                receipt_id=receipt_id,
                item=p.get("item"),
                unit=p.get("unit"),
                unit_value_vnd=int(p["amount_vnd"]) // quantity if quantity else 0,
                remaining_vnd=int(p["amount_vnd"]),
                remaining_quantity=quantity,
                received_on=p.get("received_on"),
            )
            total += int(p["amount_vnd"])
        self.allocated_vnd += total
        self.allocations[str(allocation_id)] = total

    def plan(self, lines: list[tuple[int, GoodsKey | None, int]],
             units: dict[UUID, str | None] | None = None) -> list[list[Piece]]:
        """FIFO pieces for each (amount_vnd, goods, quantity) line, in order; state is untouched.

        `units` gives, by receipt id, the unit of goods in tranches that were allocated before
        tranches kept it (`legacy_receipts` names them): the unit their receipt recorded."""
        tranches = [Tranche(**t) for t in self.tranches.values()]
        for t in tranches:
            if t["item"] and t.get("unit") is None and units:
                t["unit"] = units.get(t["receipt_id"])
        return [draw_fifo(tranches, amount_vnd, goods, quantity) for amount_vnd, goods, quantity in lines]

    def legacy_receipts(self) -> list[UUID]:
        """Receipts of goods in tranches that keep no unit (allocated before units were kept)."""
        return sorted({t["receipt_id"] for t in self.tranches.values()
                       if t["item"] and t.get("unit") is None and t["remaining_quantity"]})

    def check_dated(self, distributed_on: str, pieces: list[Piece]) -> None:
        """A distribution is not dated before any receipt it draws on was received: support
        can't be given out of money that had not come in. Tranches from allocations recorded
        before the receipt date was kept with them are not checked (the date is not at hand)."""
        dates = []
        for piece in pieces:
            tranche = self.tranches.get(f"{piece['allocation_id']}|{piece['receipt_id']}")
            received = tranche.get("received_on") if tranche is not None else None
            if received:
                dates.append(received)
        if dates and distributed_on < max(dates):
            raise DistributedBeforeReceived(
                f"distributed_on {distributed_on} is before {max(dates)}, when a receipt it"
                " draws on was received")

    def distribute(self, *, distribution_id: UUID, pieces: list[Piece], meta: Meta) -> None:
        """Invariant 2 is checked here, when the distribution is decided; the event only applies it."""
        taken: dict[str, tuple[int, int]] = {}
        for piece in pieces:
            key = f"{piece['allocation_id']}|{piece['receipt_id']}"
            vnd, quantity = taken.get(key, (0, 0))
            taken[key] = (vnd + piece["amount_vnd"], quantity + piece["quantity"])
        for key, (vnd, quantity) in taken.items():
            tranche = self.tranches.get(key)
            if tranche is None or vnd > tranche["remaining_vnd"] or quantity > tranche["remaining_quantity"]:
                raise InsufficientFunds("the programme holds too little for this distribution")
        self._distribute(distribution_id=distribution_id, pieces=pieces, meta=meta)

    @event("SupportDistributed")
    def _distribute(self, *, distribution_id: UUID, pieces: list[Piece], meta: Meta) -> None:
        """A distribution took its pieces from the programme's tranches, oldest first."""
        for piece in pieces:
            self._tranche(piece)["remaining_vnd"] -= piece["amount_vnd"]
            self._tranche(piece)["remaining_quantity"] -= piece["quantity"]
        self.distributed_vnd += sum(p["amount_vnd"] for p in pieces)

    def return_allocation(self, *, allocation_id: UUID, meta: Meta) -> None:
        if str(allocation_id) not in self.allocations:
            raise AlreadyReversed(f"allocation {allocation_id} is not held by this programme")
        held = sum(t["remaining_vnd"] for t in self.tranches.values() if t["allocation_id"] == allocation_id)
        if held != self.allocations[str(allocation_id)]:
            raise InsufficientFunds(
                f"allocation {allocation_id} was partly distributed; reverse those distributions first"
            )
        self._return_allocation(allocation_id=allocation_id, amount_vnd=held, meta=meta)

    @event("AllocationReturned")
    def _return_allocation(self, *, allocation_id: UUID, amount_vnd: int, meta: Meta) -> None:
        """A reversed allocation's money left the programme, back to the receipts it came from."""
        self.allocations.pop(str(allocation_id))
        self.returned_vnd += amount_vnd
        self.tranches = {k: t for k, t in self.tranches.items() if t["allocation_id"] != allocation_id}

    @event("DistributionReturned")
    def return_distribution(self, *, distribution_id: UUID, pieces: list[Piece], meta: Meta) -> None:
        """A reversed distribution's money and goods came back into the programme's tranches."""
        for piece in pieces:
            self._tranche(piece)["remaining_vnd"] += piece["amount_vnd"]
            self._tranche(piece)["remaining_quantity"] += piece["quantity"]
            self.distributed_vnd -= piece["amount_vnd"]

    def _tranche(self, piece: Piece) -> Tranche:
        return self.tranches[f"{piece['allocation_id']}|{piece['receipt_id']}"]


def tranche_key(tranche: Tranche) -> GoodsKey | None:
    item = tranche["item"]
    return goods_key(item, tranche.get("unit")) if item else None


def draw_fifo(tranches: list[Tranche], amount_vnd: int, goods: GoodsKey | None,
              quantity: int) -> list[Piece]:
    """Take from the oldest tranches first; goods by quantity of one item in one unit (never
    the same item counted in another unit), money by đồng."""
    pieces: list[Piece] = []
    item = goods is not None
    need = quantity if item else amount_vnd
    for t in tranches:
        if need == 0:
            break
        if item:
            if tranche_key(t) != goods or t["remaining_quantity"] == 0:
                continue
            take = min(need, t["remaining_quantity"])
            value = take * t["unit_value_vnd"]
            t["remaining_quantity"] -= take
        else:
            if t["item"] or t["remaining_vnd"] == 0:
                continue
            take = value = min(need, t["remaining_vnd"])
        t["remaining_vnd"] -= value
        pieces.append(Piece(allocation_id=t["allocation_id"], receipt_id=t["receipt_id"],
                            amount_vnd=value, quantity=take if item else 0))
        need -= take
    if need:
        if goods is None:
            raise InsufficientFunds("the programme holds too little money for this distribution")
        # Name what the programme does hold of the item in other units: the usual mistake.
        others = sorted({describe(str(t["item"]), t.get("unit")) for t in tranches
                         if t["item"] and t["remaining_quantity"] and tranche_key(t) != goods
                         and goods_key(t["item"], None).item == goods.item})
        held = quantity - need
        shown = next((describe(str(t["item"]), t.get("unit")) for t in tranches
                      if tranche_key(t) == goods), describe(goods.item, goods.unit))
        raise InsufficientFunds(
            f"the programme holds {held} of {shown}, {quantity} asked"
            + (f"; it holds this item in another unit: {', '.join(others)}" if others else ""))
    return pieces
