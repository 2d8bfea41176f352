"""Distributions (programme → children or a counted group)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyReversed
from domain.ids import as_id
from domain.meta import Meta
from domain.programmes import Piece
from domain.seasons import AfterClosing


class Distribution(Aggregate):
    @event("Made")
    def __init__(
        self,
        *,
        id: UUID,
        programme_id: UUID,
        season: str,
        district: str,
        commune: str,
        category: str,
        distributed_on: str,
        lines: list[dict[str, Any]],
        beneficiaries_count: int,
        duplicate_reason: str | None,
        overrides: int,
        total_vnd: int,
        meta: Meta,
        after_closing: AfterClosing | None = None,
    ) -> None:
        """Support went from a programme to children or a counted group, each đồng traced to receipts.

        A line of goods names its `item` and `unit` (matched folded against the programme's
        stock, domain/goods.py); lines recorded before units were asked for name no unit.
        `after_closing` is the admin's reason when its season was closed already."""
        self.programme_id = programme_id
        # Lines stored before ids were one type name their child and receipts as text.
        self.lines = [{**line, "child_id": as_id(line["child_id"]) if line.get("child_id") else None,
                       "drawn_from": [Piece(allocation_id=as_id(p["allocation_id"]),
                                            receipt_id=as_id(p["receipt_id"]),
                                            amount_vnd=p["amount_vnd"], quantity=p["quantity"])
                                      for p in line["drawn_from"]]}
                      for line in lines]
        self.total_vnd = total_vnd
        self.reversed = False

    @property
    def pieces(self) -> list[Piece]:
        return [p for line in self.lines for p in line["drawn_from"]]

    @property
    def child_ids(self) -> list[UUID]:
        return [line["child_id"] for line in self.lines if line.get("child_id")]

    def reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        if self.reversed:
            raise AlreadyReversed(f"distribution {self.id} is already reversed")
        self._reverse(reversal_id=reversal_id, reason=reason, meta=meta)

    @event("Reversed")
    def _reverse(self, *, reversal_id: UUID, reason: str, meta: Meta) -> None:
        """The distribution was undone (for the reason given): its money goes back to the programme."""
        self.reversed = True
