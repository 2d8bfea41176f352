"""The proposals read model (four eyes, issue 12 item 8): what waits for a second person, and
what was decided, for staff. A proposal moves no money: no balance, public figure or page
reads these rows."""

from __future__ import annotations

import json
from typing import Any

from projections.base import Projection, handles
from projections.db import Cursor, Database, Row

COLUMNS = ("proposal_id, position, kind, status, amount_vnd, proposer, proposer_role, created_at,"
           " arguments, decided_by, decided_at, decision_reason, result_id, decided_position")


class Proposals(Projection):
    name = "proposals"
    tables = ("proposals",)

    @handles("Proposal.Proposed")
    def proposed(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO proposals (proposal_id, position, kind, status, amount_vnd, proposer,"
            " proposer_role, created_at, arguments) VALUES (?,?,?,?,?,?,?,?,?)",
            (e.originator_id, position, e.kind, "pending", e.amount_vnd, e.proposer,
             e.proposer_role, e.timestamp.isoformat(),
             json.dumps(e.arguments, sort_keys=True, ensure_ascii=False, default=str)),
        )

    @handles("Proposal.Approved", "Proposal.Rejected")
    def decided(self, cur: Cursor, e: Any, position: int) -> None:
        approved = type(e).__qualname__ == "Proposal.Approved"
        self.update(
            "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?,"
            " result_id = ?, decided_position = ? WHERE proposal_id = ?",
            ("approved" if approved else "rejected", e.by, e.timestamp.isoformat(), e.reason,
             e.result_id if approved else None, position, e.originator_id),
        )


def proposals(db: Database, *, status: str | None = None, after: int = 0,
              limit: int = 100) -> list[Row]:
    """Proposals in log order (oldest first), of one status or all, after a position."""
    where = " AND status = ?" if status else ""
    rows = db.query(f"SELECT {COLUMNS} FROM proposals WHERE position > ?{where}"
                    " ORDER BY position LIMIT ?", [after, *([status] if status else []), limit])
    for row in rows:
        row["arguments"] = json.loads(row["arguments"])
    return rows
