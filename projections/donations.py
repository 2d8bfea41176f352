"""Donors, pledges and receipts as the public may see them (searchable, anonymous kept so)."""

from __future__ import annotations

from typing import Any

from domain.ledger import receipt_reference
from domain.money import restriction_key
from domain.text import fold
from projections.base import Projection, handles
from projections.db import Cursor

ANONYMOUS = "Ẩn danh"


class Donations(Projection):
    name = "donations"
    tables = ("donors", "pledges", "public_donations")

    def __init__(self) -> None:
        super().__init__()
        self.donors: dict[str, tuple[str, str]] = {}  # never changes once registered
        self.batch_receipts: dict[str, tuple[str | None, int]] = {}  # not yet written

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        self.batch_receipts = {}

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.donors.clear()

    @handles("Donor.Registered")
    def donor(self, cur: Cursor, e: Any, position: int) -> None:
        display = ANONYMOUS if e.anonymous else (e.public_name or e.name)
        # An anonymous donor's name is not searchable: searching it must not reveal the gift.
        folded = "" if e.anonymous else fold(f"{e.name} {e.public_name or ''}")
        self.insert(
            "INSERT INTO donors (donor_id, position, name, kind, public_name, anonymous,"
            " display_name, display_folded) VALUES (?,?,?,?,?,?,?,?)",
            (str(e.originator_id), position, e.name, e.kind, e.public_name, int(e.anonymous),
             display, folded),
        )
        self.donors[str(e.originator_id)] = (display, folded)

    @handles("Pledge.Made")
    def pledge(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO pledges (pledge_id, position, donor_id, amount_vnd, due_on)"
            " VALUES (?,?,?,?,?)",
            (str(e.originator_id), position, str(e.donor_id), e.amount_vnd, e.due_on),
        )

    @handles("Pledge.Cancelled")
    def pledge_cancelled(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE pledges SET cancelled = 1 WHERE pledge_id = ?", (str(e.originator_id),))

    @handles("Receipt.Recorded")
    def receipt(self, cur: Cursor, e: Any, position: int) -> None:
        donor_id = str(e.donor_id)
        if donor_id not in self.donors:
            row = cur.execute("SELECT display_name, display_folded FROM donors WHERE donor_id = ?",
                              (donor_id,)).fetchone()
            assert row is not None, f"receipt at {position} names an unknown donor"
            self.donors[donor_id] = (row["display_name"], row["display_folded"])
        display, folded = self.donors[donor_id]
        self.insert(
            "INSERT INTO public_donations (receipt_id, reference, position, donor_id, donor_display,"
            " donor_folded, pledge_id, fund, channel, amount_vnd, item, quantity, received_on,"
            " restriction, mobilised_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (str(e.originator_id), receipt_reference(e.received_on, position), position,
             donor_id, display, folded,
             str(e.pledge_id) if e.pledge_id else None, e.fund, e.channel, e.amount_vnd,
             e.goods["item"] if e.goods else None, e.goods["quantity"] if e.goods else 0,
             e.received_on, restriction_key(e.restriction), e.mobilised_by),
        )
        pledge_id = str(e.pledge_id) if e.pledge_id else None
        self.batch_receipts[str(e.originator_id)] = (pledge_id, e.amount_vnd)
        if pledge_id:
            self._pledge_received(pledge_id, e.amount_vnd)

    @handles("Receipt.Reversed")
    def receipt_reversed(self, cur: Cursor, e: Any, position: int) -> None:
        receipt_id = str(e.originator_id)
        if receipt_id not in self.batch_receipts:
            row = cur.execute("SELECT pledge_id, amount_vnd FROM public_donations"
                              " WHERE receipt_id = ?", (receipt_id,)).fetchone()
            assert row is not None, f"receipt {receipt_id} unknown at position {position}"
            self.batch_receipts[receipt_id] = (row["pledge_id"], int(row["amount_vnd"]))
        pledge_id, amount_vnd = self.batch_receipts[receipt_id]
        self.update("UPDATE public_donations SET reversed = 1 WHERE receipt_id = ?", (receipt_id,))
        if pledge_id:
            self._pledge_received(pledge_id, -amount_vnd)

    def _pledge_received(self, pledge_id: str, amount_vnd: int) -> None:
        self.update("UPDATE pledges SET received_vnd = received_vnd + ? WHERE pledge_id = ?",
                    (amount_vnd, pledge_id))
