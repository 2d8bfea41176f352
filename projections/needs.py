"""The needs read model: what each commune surveyed it needs, by season and category."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles
from projections.db import Cursor


class Needs(Projection):
    name = "needs"
    tables = ("needs",)

    @handles("Need.Opened")
    def opened(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO needs (need_id, season, commune, category, district, position,"
            " children_count, estimated_vnd) VALUES (?,?,?,?,?,?,0,0)",
            (e.originator_id, e.season, e.commune, e.category, e.district, position),
        )

    @handles("Need.Surveyed")
    def surveyed(self, cur: Cursor, e: Any, position: int) -> None:
        self.update(
            "UPDATE needs SET children_count = ?, estimated_vnd = ?, position = ? WHERE need_id = ?",
            (e.children_count, e.estimated_vnd, position, e.originator_id),
        )
