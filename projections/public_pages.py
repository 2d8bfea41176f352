"""Reads the public pages need beyond the JSON API's: the seasons there are, and the figures of
one place (a district or a commune), with public counts below 5 shown as "< 5" (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from projections.db import Database, Row
from projections.queries import Queries, small


class PublicPages:
    def __init__(self, db: Database, queries: Queries) -> None:
        self.db = db
        self.queries = queries

    def seasons(self) -> list[str]:
        rows = self.db.query("SELECT season FROM programme_balances UNION SELECT season FROM needs")
        return sorted({r["season"] for r in rows}, reverse=True)

    def place(self, *, season: str | None, district: str | None = None,
              commune: str | None = None) -> dict[str, Any]:
        """Allocated, distributed and children reached in one place, by category and by commune."""
        programmes = self.queries.programme_balances(season=season, district=district, commune=commune)
        by_category: dict[str, Row] = {}
        by_commune: dict[str, Row] = {}
        for p in programmes:
            for key, groups in ((p["category"], by_category), (p["commune"], by_commune)):
                g = groups.setdefault(key, {"key": key, "allocated_vnd": 0, "distributed_vnd": 0,
                                            "children": 0})
                g["allocated_vnd"] += p["allocated_vnd"] - p["returned_vnd"]
                g["distributed_vnd"] += p["distributed_vnd"]
                g["children"] += p["children_reached"]
        # Small counts are hidden at every grain shown here: a district's count for a category
        # may well be one commune's.
        for g in (*by_commune.values(), *by_category.values()):
            g["children"] = small(int(g["children"]))
        allocated = sum(g["allocated_vnd"] for g in by_category.values())
        distributed = sum(g["distributed_vnd"] for g in by_category.values())
        return {
            "allocated_vnd": allocated, "distributed_vnd": distributed,
            "remaining_vnd": allocated - distributed,
            "by_category": sorted(by_category.values(), key=lambda g: str(g["key"])),
            "by_commune": sorted(by_commune.values(), key=lambda g: str(g["key"])),
            "needs": [n for n in self.queries.needs(season)
                      if (district is None or n["district"] == district)
                      and (commune is None or n["commune"] == commune)],
        }
