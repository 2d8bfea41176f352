"""Entries recorded after their season was closed (issue 13, item 5): the public season page
lists them, so that a closed season's books change only in the open. Only the public facts of
each entry are kept (those its leaf shows); the admin's reason stays sealed in the event."""

from __future__ import annotations

from typing import Any

from domain.leaf import receipt_reference
from projections.base import Projection, handles
from projections.db import Cursor, Database, Row


class AfterClosing(Projection):
    name = "after_closing"
    tables = ("recorded_after_closing",)

    def _entry(self, e: Any, position: int, kind: str, **facts: Any) -> None:
        late = getattr(e, "after_closing", None)
        if not late:
            return
        row = {"dated_on": None, "amount_vnd": 0, "commune": None, "category": None,
               "reference": None, **facts}
        self.insert(
            "INSERT INTO recorded_after_closing (position, season, kind, entry_id, dated_on,"
            " amount_vnd, commune, category, reference, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (position, late["season"], kind, str(e.originator_id), row["dated_on"],
             row["amount_vnd"], row["commune"], row["category"], row["reference"],
             e.timestamp.isoformat()),
        )

    @handles("Receipt.Recorded")
    def receipt(self, cur: Cursor, e: Any, position: int) -> None:
        self._entry(e, position, "receipt", dated_on=e.received_on, amount_vnd=e.amount_vnd,
                    reference=receipt_reference(e.received_on, position))

    @handles("Allocation.Made")
    def allocation(self, cur: Cursor, e: Any, position: int) -> None:
        self._entry(e, position, "allocation", amount_vnd=e.amount_vnd, commune=e.commune,
                    category=e.category)

    @handles("Distribution.Made")
    def distribution(self, cur: Cursor, e: Any, position: int) -> None:
        self._entry(e, position, "distribution", dated_on=e.distributed_on,
                    amount_vnd=e.total_vnd, commune=e.commune, category=e.category)

    @handles("Need.Surveyed")
    def need(self, cur: Cursor, e: Any, position: int) -> None:
        # Its commune and category are the need's (read with the needs read model, see below).
        self._entry(e, position, "need", amount_vnd=e.estimated_vnd)


def recorded_after_closing(db: Database, season: str) -> list[Row]:
    """A season's entries recorded after it was closed, in log order, each with whether it has
    been reversed since (a reversed entry counts in no figure, but stays listed)."""
    return db.query(
        "SELECT a.position, a.kind, a.dated_on, a.amount_vnd, COALESCE(a.commune, n.commune) AS commune,"
        " COALESCE(a.category, n.category) AS category, a.reference, a.recorded_at, CASE a.kind"
        "  WHEN 'receipt' THEN (SELECT reversed FROM public_donations WHERE receipt_id = a.entry_id)"
        "  WHEN 'allocation' THEN (SELECT reversed FROM allocations WHERE allocation_id = a.entry_id)"
        "  WHEN 'distribution' THEN"
        "   (SELECT reversed FROM distributions WHERE distribution_id = a.entry_id)"
        "  ELSE 0 END AS reversed"
        " FROM recorded_after_closing a LEFT JOIN needs n ON a.kind = 'need' AND n.need_id = a.entry_id"
        " WHERE a.season = ? ORDER BY a.position", (season,))
