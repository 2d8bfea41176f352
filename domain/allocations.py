"""Allocations (fund → programme) and the FIFO choice of the receipts they draw on."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyReversed, InsufficientFunds
from domain.goods import GoodsKey, describe
from domain.ids import as_id
from domain.meta import Meta
from domain.money import restriction_allows, specificity
from domain.receipts import Receipt
from domain.seasons import AfterClosing


class Draw(TypedDict):
    receipt_id: UUID
    amount_vnd: int
    quantity: int
    item: str | None
    # The goods' unit as their receipt recorded it; draws stored before units were matched have none.
    unit: NotRequired[str | None]


class Allocation(Aggregate):
    @event("Made")
    def __init__(
        self,
        *,
        id: UUID,
        fund: str,
        programme_id: UUID,
        season: str,
        district: str,
        commune: str,
        category: str,
        amount_vnd: int,
        item: str | None,
        quantity: int,
        decision_ref: str,
        drawn_from: list[Draw],
        note: str | None,
        meta: Meta,
        override_reason: str | None = None,
        unit: str | None = None,
        after_closing: AfterClosing | None = None,
    ) -> None:
        """A fund's money or goods were allocated to a programme by a decision, drawn FIFO from
        receipts; `override_reason` is an admin's, when the commune is not extremely difficult;
        `unit` is the goods' unit as the decision named it (with `item`, matched folded against
        the receipts': domain/goods.py), absent in allocations recorded before it was asked;
        `after_closing` the admin's reason when its season was closed already."""
        self.fund = fund
        self.override_reason = override_reason
        self.programme_id = programme_id
        self.amount_vnd = amount_vnd
        # Draws stored before ids were one type name their receipt as text.
        self.drawn_from = [Draw(**{**d, "receipt_id": as_id(d["receipt_id"])}) for d in drawn_from]
        self.reversed = False

    def reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        if self.reversed:
            raise AlreadyReversed(f"allocation {self.id} is already reversed")
        self._reverse(reversal_id=reversal_id, reason=reason, meta=meta)

    @event("Reversed")
    def _reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        """The allocation was undone (for the reason given): its money goes back to its receipts."""
        self.reversed = True


def fifo_order(receipt: Receipt) -> tuple[Any, ...]:
    """Most specific restriction first, unrestricted last; then first received, first used."""
    return (-specificity(receipt.restriction), receipt.received_on, receipt.created_on, receipt.id)


def plan_draws(
    receipts: list[Receipt],
    *,
    fund: str,
    district: str,
    commune: str,
    category: str,
    amount_vnd: int,
    goods: GoodsKey | None,
    quantity: int,
    label: str | None = None,
) -> list[Draw]:
    """Which receipts pay for an allocation, and how much each. Refuses if the fund can't pay.

    Goods are drawn only from receipts of the same item in the same unit (`goods`), never from
    the same item counted in another unit; money only from receipts of money. `label` names
    the goods in a refusal as the command wrote them."""
    item = goods is not None
    eligible = sorted(
        (
            r for r in receipts
            if r.fund == fund and not r.reversed and r.goods_key == goods
            and (r.remaining_quantity if item else r.remaining_vnd) > 0
            and restriction_allows(r.restriction, district, commune, category)
        ),
        key=fifo_order,
    )
    draws: list[Draw] = []
    need = quantity if item else amount_vnd
    for r in eligible:
        if need == 0:
            break
        if item:
            assert r.goods is not None
            take = min(need, r.remaining_quantity)
            draws.append(Draw(receipt_id=r.id, amount_vnd=take * r.goods["unit_value_vnd"],
                              quantity=take, item=r.goods["item"], unit=r.goods.get("unit")))
        else:
            take = min(need, r.remaining_vnd)
            draws.append(Draw(receipt_id=r.id, amount_vnd=take, quantity=0, item=None))
        need -= take
    if need:
        available = sum(r.remaining_quantity if item else r.remaining_vnd for r in eligible)
        unit = f"× {label or describe(goods.item, goods.unit)}" if goods else "đồng"
        raise InsufficientFunds(
            f"fund {fund} has {available} {unit} available for commune {commune}, category {category}, "
            f"{quantity if item else amount_vnd} asked"
        )
    return draws

