"""The children read model: pseudonymous ids, codes and places; personal fields stay sealed
in the log and are read, for staff only, by decrypting there."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles
from projections.db import Cursor, Database, Row


class Children(Projection):
    """Ids, codes and places only: personal fields stay sealed in the log."""

    name = "children"
    tables = ("children",)

    @handles("Child.Registered")
    def registered(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO children (child_id, position, code, district, commune) VALUES (?,?,?,?,?)",
            (e.originator_id, position, e.code, e.district, e.commune),
        )

    @handles("Child.Transferred")
    def transferred(self, cur: Cursor, e: Any, position: int) -> None:
        self.update("UPDATE children SET district = ?, commune = ? WHERE child_id = ?",
                    (e.district, e.commune, e.originator_id))


def children_in(db: Database, commune: str, *, code: str | None = None,
                child_ids: list[str] | None = None) -> list[Row]:
    """The children of a commune with this code, or with these ids (found by name through the
    blind index, which only the ledger can key): ids, codes and places, oldest first."""
    where, params = ("code = ?", [code]) if code is not None else (
        f"child_id IN ({', '.join('?' * len(child_ids or []))})", list(child_ids or []))
    if code is None and not child_ids:
        return []
    return db.query(f"SELECT child_id, code, district, commune, position FROM children"
                    f" WHERE commune = ? AND {where} ORDER BY position", [commune, *params])
