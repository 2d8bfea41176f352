"""The children read model: pseudonymous ids, codes and places; personal fields stay sealed
in the log and are read, for staff only, by decrypting there."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles
from projections.db import Cursor


class Children(Projection):
    """Ids, codes and places only: personal fields stay sealed in the log."""

    name = "children"
    tables = ("children",)

    @handles("Child.Registered")
    def registered(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO children (child_id, position, code, district, commune) VALUES (?,?,?,?,?)",
            (str(e.originator_id), position, e.code, e.district, e.commune),
        )
