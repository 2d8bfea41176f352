"""Follow the money: receipt → allocations → distributions (→ children), line by line."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, recorded_day
from projections.db import Cursor


class Traces(Projection):
    name = "traces"
    tables = ("allocations", "allocation_draws", "distributions", "distribution_lines",
              "distribution_draws")

    @handles("Allocation.Made")
    def allocation(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO allocations (allocation_id, position, fund, programme_id, season, district,"
            " commune, category, amount_vnd, item, quantity, decision_ref, override, recorded_on)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (e.originator_id, position, e.fund, e.programme_id, e.season, e.district,
             e.commune, e.category, e.amount_vnd, e.item, e.quantity, e.decision_ref,
             1 if getattr(e, "override_reason", None) else 0, recorded_day(e)),
        )
        for d in e.drawn_from:
            self.insert("INSERT INTO allocation_draws (allocation_id, receipt_id, amount_vnd,"
                        " quantity) VALUES (?,?,?,?)",
                        (e.originator_id, d["receipt_id"], d["amount_vnd"], d["quantity"]))

    @handles("Allocation.Reversed")
    def allocation_reversed(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE allocations SET reversed = 1 WHERE allocation_id = ?",
                    (e.originator_id,))

    @handles("Distribution.Made")
    def distribution(self, cur: Cursor, e: Any, position: int) -> None:
        did = e.originator_id
        named = sum(1 for line in e.lines if line.get("child_id"))
        self.insert(
            "INSERT INTO distributions (distribution_id, position, programme_id, season, district,"
            " commune, category, distributed_on, total_vnd, named_children, beneficiaries_count,"
            " overrides, recorded_on) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (did, position, e.programme_id, e.season, e.district, e.commune, e.category,
             e.distributed_on, e.total_vnd, named, e.beneficiaries_count, e.overrides,
             recorded_day(e)),
        )
        for n, line in enumerate(e.lines):
            self.insert("INSERT INTO distribution_lines (distribution_id, line_no, child_id, item,"
                        " unit, quantity, value_vnd) VALUES (?,?,?,?,?,?,?)",
                        (did, n, line.get("child_id"), line.get("item"), line.get("unit"),
                         line["quantity"], line["value_vnd"]))
            for k, p in enumerate(line["drawn_from"]):
                self.insert("INSERT INTO distribution_draws (distribution_id, line_no, piece_no,"
                            " allocation_id, receipt_id, amount_vnd, quantity) VALUES (?,?,?,?,?,?,?)",
                            (did, n, k, p["allocation_id"], p["receipt_id"], p["amount_vnd"],
                             p["quantity"]))

    @handles("Distribution.Reversed")
    def distribution_reversed(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE distributions SET reversed = 1 WHERE distribution_id = ?",
                    (e.originator_id,))
