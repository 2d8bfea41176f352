"""Receipts: money or goods that arrived in a fund. Each receipt is its own consistency boundary.

Invariant 1 (per fund and restriction: received − allocated + returned ≥ 0) holds because it
holds for every receipt on its own: an allocation draws from receipts, and a receipt never
gives out more than it has left. Receipts are separate aggregates so that recording one never
contends with recording another.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyReversed, InsufficientFunds
from domain.goods import GoodsKey, goods_key
from domain.meta import Meta
from domain.money import Goods, Restriction
from domain.seasons import AfterClosing

CHANNELS = ("bank", "cash", "in_kind")


class Receipt(Aggregate):
    """Rules are checked by the command (Ledger.new_receipt) before a receipt is made; its event
    methods only apply what was decided, so that stored history always loads."""

    @event("Recorded")
    def __init__(
        self,
        *,
        id: UUID,
        donor_id: UUID,
        fund: str,
        received_on: str,
        channel: str,
        amount_vnd: int,
        goods: Goods | None,
        restriction: Restriction,
        pledge_id: UUID | None,
        bank_txn_id: str | None,
        mobilised_by: str | None,
        note: str | None,
        meta: Meta,
        donor_name: str | None = None,
        after_closing: AfterClosing | None = None,
    ) -> None:
        """Money or goods from a donor arrived in a fund: a receipt voucher, where all tracing starts;
        `after_closing` names the closed season its date falls in and the admin's reason, when it
        was recorded after that season was closed."""
        # donor_name is the donor's name as the public sees it when the gift is recorded (the
        # public name, or "Ẩn danh"): the receipt's public leaf shows it (domain/leaf.py), so it
        # must be in the event itself. Events recorded before it existed have none.
        self.donor_id = donor_id
        self.fund = fund
        self.received_on = received_on
        self.amount_vnd = amount_vnd
        self.goods = goods
        self.restriction = restriction
        self.pledge_id = pledge_id
        self.bank_txn_id = bank_txn_id
        self.remaining_vnd = amount_vnd
        self.remaining_quantity = goods["quantity"] if goods else 0
        self.reversed = False

    @property
    def item(self) -> str | None:
        return self.goods["item"] if self.goods else None

    @property
    def goods_key(self) -> GoodsKey | None:
        """What the goods are, by name and unit (domain/goods.py); None for money."""
        return goods_key(self.goods["item"], self.goods.get("unit")) if self.goods else None

    def draw(self, *, allocation_id: UUID, amount_vnd: int, quantity: int, meta: Meta) -> None:
        if self.reversed:
            raise InsufficientFunds(f"receipt {self.id} was reversed")
        if amount_vnd <= 0 or amount_vnd > self.remaining_vnd or quantity > self.remaining_quantity:
            raise InsufficientFunds(f"receipt {self.id} has only {self.remaining_vnd} đồng left")
        self._draw(allocation_id=allocation_id, amount_vnd=amount_vnd, quantity=quantity, meta=meta)

    @event("Drawn")
    def _draw(self, *, allocation_id: UUID, amount_vnd: int, quantity: int, meta: Meta) -> None:
        """An allocation drew money or goods from this receipt (FIFO), lowering what it has left."""
        self.remaining_vnd -= amount_vnd
        self.remaining_quantity -= quantity

    def give_back(self, *, allocation_id: UUID, amount_vnd: int, quantity: int, meta: Meta) -> None:
        if self.remaining_vnd + amount_vnd > self.amount_vnd:
            raise InsufficientFunds(f"receipt {self.id} cannot take back more than it gave")
        self._give_back(allocation_id=allocation_id, amount_vnd=amount_vnd, quantity=quantity,
                        meta=meta)

    @event("Returned")
    def _give_back(self, *, allocation_id: UUID, amount_vnd: int, quantity: int, meta: Meta) -> None:
        """A reversed allocation gave back what it had drawn from this receipt."""
        self.remaining_vnd += amount_vnd
        self.remaining_quantity += quantity

    def reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        if self.reversed:
            raise AlreadyReversed(f"receipt {self.id} is already reversed")
        if self.remaining_vnd != self.amount_vnd:
            raise InsufficientFunds(
                f"receipt {self.id} has {self.amount_vnd - self.remaining_vnd} đồng allocated; "
                "reverse those allocations first"
            )
        self._reverse(reversal_id=reversal_id, reason=reason, meta=meta)

    @event("Reversed")
    def _reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        """The receipt was undone (for the reason given), once none of its money was allocated."""
        self.reversed = True
        self.remaining_vnd = 0
        self.remaining_quantity = 0
